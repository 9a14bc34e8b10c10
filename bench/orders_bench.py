"""Order placement throughput: the app over HTTP against a floor of the same writes done directly in SQL.

    .venv/bin/python bench/orders_bench.py --clients 32 --seconds 10

Starts Sherwood (simulated market) on a fresh PostgreSQL database plus Redis, registers one user per client,
and has every client place small market buys (each with its own idempotency key) for the given time. Then,
with the app stopped, as many connections run the transaction a market buy boils down to (lock the account,
insert the order and its idempotency record, move the cash, write the ledger, upsert the position) straight
through psycopg for the same time. The app's rate as a fraction of that floor is what the platform's own
work costs. The database and its Redis keys are dropped at the end.

The load generator shares the machine's cores with the app and PostgreSQL, so it is kept lean: one process,
one asyncio loop, aiohttp over keep-alive connections (httpx spent about 3 ms of CPU per request here, as much
as the app). Its own CPU is printed next to the app's, so a run where the generator is the bottleneck shows.
"""

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import httpx
import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SYMBOL = "AAPL"
QUANTITY = Decimal("0.01")
PASSWORD = "bench password 1"
TARGET_FRACTION, TARGET_P99_MS = 0.25, 50.0


@dataclass
class Tally:
    """What one side of the benchmark did: latencies of successes (seconds) and every answer's status."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu_seconds: float | None = None  # the app process's CPU time while measured (Linux)
    client_cpu_seconds: float = 0.0  # the load generator's own CPU time while measured

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1] * 1000


# The database and the app


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database (psycopg URL); dropped afterwards together with the app's Redis keys."""
    name = f"sherwood_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"sherwood:{name}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_apps(database_url: str, instances: int) -> Iterator[list[tuple[str, int]]]:
    """(url, pid) of each of `instances` app processes sharing the database and Redis, as behind a load balancer."""
    with ExitStack() as stack:
        logs = [Path(tempfile.gettempdir()) / f"sherwood-orders-bench-{i + 1}.log" for i in range(instances)]
        yield [stack.enter_context(running_app(database_url, log)) for log in logs]


@contextmanager
def running_app(database_url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "MARKET_FEED": "simulator",
        "STARTING_CASH": "1000000000",
        "API_RATE_LIMIT": "0",  # one address places every order: the quota would measure itself
        "ORDER_RATE_LIMIT": "0",  # the limit is per user and minute; the bench measures throughput
        "ACCESS_LOG": "false",  # a log line per request is not what is measured
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_trading(url, process, log_path)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_trading(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    """Until the app answers and quotes SYMBOL live (the simulator has started publishing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the app exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            answer = httpx.get(f"{url}/api/quotes", params={"symbols": SYMBOL}, timeout=2).json()
            if answer["quotes"] and not answer["stale"]:
                return
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    sys.exit(f"the app did not start trading within {timeout}s:\n{log_path.read_text()}")


# The app, over HTTP


async def sign_up(client: aiohttp.ClientSession) -> tuple[uuid.UUID, str]:
    email = f"bench-{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    async with client.post("/api/auth/register", json=credentials) as response:
        user = (await response.json())["user"]
    async with client.post("/api/auth/login", json=credentials) as response:
        token = (await response.json())["token"]
    return uuid.UUID(user["id"]), token


async def trade(client: aiohttp.ClientSession, token: str, until: float, tally: Tally | None) -> None:
    """Place market buys back to back until `until`; `tally` None is a warm-up."""
    body = orjson.dumps({"symbol": SYMBOL, "side": "buy", "orderType": "market", "quantity": str(QUANTITY)})
    while time.perf_counter() < until:
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        async with client.post("/api/orders", data=body, headers=headers) as response:
            await response.read()
        if tally is not None:
            tally.statuses[response.status] += 1
            if response.status == 201:
                tally.latencies.append(time.perf_counter() - started)


def apps_cpu_seconds(pids: list[int]) -> float | None:
    times = [cpu_seconds(pid) for pid in pids]
    return None if None in times else sum(times)


async def bench_app(apps: list[tuple[str, int]], clients: int, seconds: float) -> tuple[Tally, list[uuid.UUID]]:
    """`clients` clients, dealt over the instances in turn as a load balancer would."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(
                # one keep-alive connection per client
                aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=clients), timeout=timeout)
            )
            for url, _ in apps
        ]
        served_by = [sessions[i % len(sessions)] for i in range(clients)]
        users = await asyncio.gather(*(sign_up(session) for session in served_by))
        tokens = [token for _, token in users]
        warm_up = time.perf_counter() + 1
        await asyncio.gather(*(trade(s, token, warm_up, None) for s, token in zip(served_by, tokens, strict=True)))
        pids = [pid for _, pid in apps]
        print(f"measuring the app (pids {', '.join(map(str, pids))}) for {seconds:g} s", flush=True)
        tally, cpu_before, client_cpu_before = Tally(), apps_cpu_seconds(pids), time.process_time()
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(trade(s, token, until, tally) for s, token in zip(served_by, tokens, strict=True)))
        tally.elapsed = time.perf_counter() - started
        tally.client_cpu_seconds = time.process_time() - client_cpu_before
        if cpu_before is not None:
            tally.cpu_seconds = apps_cpu_seconds(pids) - cpu_before
    return tally, [user_id for user_id, _ in users]


# The floor: the same writes in SQL


def buy_in_sql(conn: psycopg.Connection, user_id: uuid.UUID, price: Decimal) -> None:
    """One market buy's transaction, statement by statement as the service makes it."""
    now, order_id = datetime.now(UTC), uuid.uuid4()
    amount = (QUANTITY * price).quantize(Decimal("0.01"))
    with conn.transaction():
        conn.execute("SELECT cash, reserved_cash FROM accounts WHERE user_id = %s FOR UPDATE", (user_id,))
        conn.execute(
            "INSERT INTO orders (id, user_id, symbol, side, order_type, quantity, time_in_force, status,"
            " filled_quantity, avg_fill_price, reserved_cash, expires_at, created_at, updated_at, filled_at)"
            " VALUES (%s, %s, %s, 'buy', 'market', %s, 'day', 'filled', %s, %s, 0, %s, %s, %s, %s)",
            (order_id, user_id, SYMBOL, QUANTITY, QUANTITY, price, now, now, now, now),
        )
        conn.execute(
            "INSERT INTO idempotency_records (user_id, key, request_hash, response_status, response_body,"
            " order_id, created_at) VALUES (%s, %s, %s, 201, %s, %s, %s)",
            (user_id, uuid.uuid4().hex, "0" * 64, '{"order": {}}', order_id, now),
        )
        conn.execute("UPDATE accounts SET cash = cash - %s, updated_at = %s WHERE user_id = %s", (amount, now, user_id))
        conn.execute(
            "INSERT INTO cash_ledger (user_id, amount, kind, order_id, created_at) VALUES (%s, %s, 'buy', %s, %s)",
            (user_id, -amount, order_id, now),
        )
        conn.execute(
            "INSERT INTO positions (user_id, symbol, quantity, reserved_quantity, cost_basis, realized_pnl, updated_at)"
            " VALUES (%s, %s, %s, 0, %s, 0, %s) ON CONFLICT (user_id, symbol) DO UPDATE SET"
            " quantity = positions.quantity + excluded.quantity,"
            " cost_basis = positions.cost_basis + excluded.cost_basis, updated_at = excluded.updated_at",
            (user_id, SYMBOL, QUANTITY, amount, now),
        )


def bench_sql(database_url: str, user_ids: list[uuid.UUID], seconds: float) -> Tally:
    """One thread and connection per user, each committing buys back to back."""
    price = Decimal("100.00")
    tally, lock = Tally(), threading.Lock()
    start = threading.Barrier(len(user_ids) + 1)

    def worker(user_id: uuid.UUID) -> None:
        with psycopg.connect(database_url) as conn:
            start.wait()
            until = time.perf_counter() + seconds
            latencies = []
            while (began := time.perf_counter()) < until:
                buy_in_sql(conn, user_id, price)
                latencies.append(time.perf_counter() - began)
        with lock:
            tally.latencies += latencies

    threads = [threading.Thread(target=worker, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    tally.elapsed = time.perf_counter() - began
    return tally


# Reporting


def line(label: str, tally: Tally, unit: str) -> str:
    p50, p99 = tally.percentile_ms(50), tally.percentile_ms(99)
    return f"{label:<14}: {tally.rate:8.0f} {unit:<8}  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"


def report(app: Tally, floor: Tally, clients: int) -> None:
    fraction = app.rate / floor.rate if floor.rate else 0.0
    met = fraction >= TARGET_FRACTION and app.percentile_ms(99) < TARGET_P99_MS
    print(line("app over HTTP", app, "orders/s"))
    print(f"{'':<14}  answers: {dict(app.statuses)}")
    if app.cpu_seconds and app.latencies:
        per_order = app.cpu_seconds / len(app.latencies) * 1000
        print(f"{'':<14}  app CPU {app.cpu_seconds / app.elapsed:.0%} of a core ({per_order:.2f} ms per order)")
    print(f"{'':<14}  load generator CPU {app.client_cpu_seconds / app.elapsed:.0%} of a core")
    print(line("SQL floor", floor, "tx/s"))
    target = f"{TARGET_FRACTION:.0%} of the floor with p99 < {TARGET_P99_MS:.0f} ms"
    print(f"{'app / floor':<14}: {fraction:8.1%}   ({'meets' if met else 'misses'} the target: {target})")
    # Each client sends its next order when the last is answered, so the mean latency is clients / rate
    # (Little's law): a p99 under the target needs at least this rate, whatever the floor.
    needed = clients / (TARGET_P99_MS / 1000)
    print(f"{'':<14}  ({clients} clients back to back: p99 < {TARGET_P99_MS:.0f} ms needs > {needed:.0f} orders/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (and users)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time of each side")
    parser.add_argument("--instances", type=int, default=1, help="app processes sharing the database and Redis")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with fresh_database() as database_url:
        with running_apps(database_url, args.instances) as apps:
            urls = ", ".join(url for url, _ in apps)
            print(f"app on {urls} (logs: {tempfile.gettempdir()}/sherwood-orders-bench-*.log)")
            print(f"{args.clients} clients for {args.seconds:g} s each side")
            app, user_ids = asyncio.run(bench_app(apps, args.clients, args.seconds))
        print(f"measuring the SQL floor for {args.seconds:g} s", flush=True)
        floor = bench_sql(database_url, user_ids, args.seconds)
    report(app, floor, args.clients)
    # Other work on the machine skews both sides, the app's more (it is CPU-bound): say how busy it was.
    print(f"{'load average':<14}: {load_before:.1f} before the run (1 min)")


if __name__ == "__main__":
    main()
