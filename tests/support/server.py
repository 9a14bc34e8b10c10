"""Run `python app.py` as a real process, the way a user starts Sherwood."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}  # or ui.run thinks it is a test
    base.update(env)
    return base


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen
    log_path: Path
    first_answer: httpx.Response | None = None  # the first HTTP answer it gave (to the probe of started_app)

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def started_app(log_path: Path, *, probe: str = "/api/auth/me", **env: str) -> Iterator[AppProcess]:
    """Start Sherwood with this environment (no market feed unless asked); yields it once it answers `probe`,
    and stops it afterwards."""
    port = free_port()
    env = app_env(**{"HOST": "127.0.0.1", "PORT": str(port), "MARKET_FEED": "none", **env})
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = AppProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        app.first_answer = _first_answer(f"{app.url}{probe}", process, log_path)
        yield app
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Ask a child to stop, and kill it if it has not within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_app(log_path: Path, **env: str) -> Iterator[str]:
    """Start Sherwood with this environment; yields its base URL once it answers, stops it afterwards."""
    with started_app(log_path, **env) as app:
        yield app.url


def _first_answer(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> httpx.Response:
    """Ask `url` until the app answers at all; that first answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"app did not start within {timeout}s:\n{log_path.read_text()}")
