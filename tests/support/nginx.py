"""A private nginx in front of app instances, built from the repo's deploy/nginx/sherwood.conf.

Only the addresses change: the upstream's server lines and the listen port. Everything else (sticky sessions,
WebSocket upgrades, proxy headers, timeouts) is the file operators deploy.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import ROOT, free_port, stop_process

SITE_CONFIG = ROOT / "deploy" / "nginx" / "sherwood.conf"
SERVER_LINE = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+ ([^;]*);\n", re.MULTILINE)
HASH_LINE = "hash $sherwood_route consistent;\n"


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")  # sbin is not on every PATH


def render_site(upstreams: list[str], port: int, edits: dict[str, str] | None = None) -> str:
    """sherwood.conf with these instances (host:port) in its upstream and listening on 127.0.0.1:port, and each
    of `edits` (a line of the file, exactly once there, and what replaces it)."""
    text = SITE_CONFIG.read_text()
    for line, replacement in (edits or {}).items():
        assert text.count(line) == 1, f"deploy/nginx/sherwood.conf has no single {line!r}"
        text = text.replace(line, replacement)
    servers = SERVER_LINE.findall(text)
    assert servers, "deploy/nginx/sherwood.conf lists no `server 127.0.0.1:PORT ...;` line"
    indent, parameters = servers[0]
    text = SERVER_LINE.sub("", text)
    assert text.count(HASH_LINE) == 1 and text.count("listen 80;") == 1, "the template changed shape"
    ours = "".join(f"{indent}server {address} {parameters};\n" for address in upstreams)
    text = text.replace(HASH_LINE, HASH_LINE + ours)
    return text.replace("listen 80;", f"listen 127.0.0.1:{port};")


def main_config(workdir: Path, site: Path) -> str:
    """An nginx.conf that keeps every file (pid, logs, temp) in `workdir` and runs in the foreground."""
    temp = " ".join(
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log {workdir / 'access.log'};\n  {temp}\n"
        # Started as root, the workers run as nobody and cannot enter pytest's private temp folders: never spool.
        "  proxy_max_temp_file_size 0;\n"
        f"  include {site};\n}}\n"
    )


@contextmanager
def running_nginx(workdir: Path, upstreams: list[str], edits: dict[str, str] | None = None) -> Iterator[str]:
    """Start nginx in front of `upstreams` (with `edits` to the site file, see render_site); yields its base URL
    and stops this nginx (only it) afterwards."""
    binary = nginx_binary()
    assert binary, "nginx is not installed: run scripts/setup.sh test"
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = workdir / "sherwood.conf"
    site.write_text(render_site(upstreams, port, edits))
    config = workdir / "nginx.conf"
    config.write_text(main_config(workdir, site))
    error_log = str(workdir / "error.log")
    subprocess.run([binary, "-t", "-q", "-c", str(config), "-p", str(workdir), "-e", error_log], check=True)
    process = subprocess.Popen([binary, "-c", str(config), "-p", str(workdir), "-e", error_log])
    try:
        _wait_for_port(port, process, workdir / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)  # the master, our child: it stops its workers


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen within {timeout}s:\n{log.read_text()}")
