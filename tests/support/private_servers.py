"""Private Redis and PostgreSQL servers for fault tests: started on free ports in temp dirs, so a test can stop
and restart them without touching the shared servers (which must never be stopped)."""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import psycopg
import redis

from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from settings import load_settings
from tests.support.api import wait_until
from tests.support.factories import quote
from tests.support.server import free_port


class PrivateRedis:
    """A redis-server of our own. By default a restart comes back empty, like a lost cache; a persistent one
    comes back with its data, like a server that was only out of reach."""

    def __init__(self, workdir: Path, persistent: bool = False):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = workdir
        self._persistent = persistent
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        command += ["yes" if self._persistent else "no", "--dir", str(self._dir)]
        command += ["--logfile", str(self._dir / "redis.log")]
        self._process = subprocess.Popen(command)
        wait_until(self._answers, "the private Redis to start", timeout=20)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)


@contextmanager
def private_redis(persistent: bool = False) -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="sherwood-redis-") as workdir:
        server = PrivateRedis(Path(workdir), persistent)
        server.start()
        try:
            yield server
        finally:
            server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of our own; as root, its tools run as the `postgres` user (initdb refuses root)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.data = workdir / "data"
        self._log = workdir / "postgres.log"
        self._socket_dir = workdir
        self._bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self._socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self._log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: open transactions are rolled back and every connection is cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="sherwood-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(workdir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class Ticker:
    """Keeps one quote per symbol live on an app's Redis bus from a thread, as the market feed would: a fresh
    timestamp every `every` seconds. Publishing errors (Redis stopped) are counted, not raised."""

    def __init__(self, redis_url: str, database_url: str, prices: dict[str, str], every: float = 0.3):
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._namespace = load_settings(database_url=database_url).redis_namespace()
        self._prices = prices
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.failures = 0

    def __enter__(self) -> "Ticker":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            quotes = [quote(symbol, last) for symbol, last in self._prices.items()]
            try:
                mapping = {q.symbol: orjson.dumps(q.model_dump(mode="json")) for q in quotes}
                self._redis.hset(self._namespace + "quotes", mapping=mapping)
                self._redis.publish(self._namespace + QUOTES_CHANNEL, encode_batch(quotes))
            except redis.RedisError:
                self.failures += 1
            self._stop.wait(self._every)
