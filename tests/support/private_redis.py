"""A Redis server of a test's own, on a free port in a temp folder, for tests that stop Redis on purpose
(the shared one on 6379 is never touched)."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.server import free_port


@dataclass
class PrivateRedis:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = PrivateRedis(f"redis://127.0.0.1:{port}/0", process)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(server.url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        server.stop()
