"""Order placement throughput: the app over HTTP against a floor of the same work done by pgbench in SQL.

    .venv/bin/python bench/orders_bench.py --clients 32 --seconds 10 [--access-log on|off|both] [--few-clients 8]

Starts Sherwood (simulated market, default settings) on a fresh PostgreSQL database plus Redis, registers one
user per client, and has every client place small market buys (each with its own idempotency key) for the given
time. Then, with the app stopped, pgbench runs the project's yardstick (../shared/bench/: order_tx.sql, the
transaction a market buy boils down to, on the tables of schema.sql) in a scratch database at the same
concurrency for the same time. The app's rate and p99 against pgbench's are what the platform's own work costs.
`--access-log both` runs the app with ACCESS_LOG=true and with false side by side, each on a fresh database, the
clients placing orders on one and then the other in turns of a few seconds (the machine's other work weighs on both
alike), and prints what the access log costs of the order rate. Then the first app takes `--few-clients` (8)
clients, whose p99 is held to 50 ms. The verdicts are issue 10's target. The databases and their Redis keys are
dropped at the end.

The load generator shares the machine's cores with the app and PostgreSQL, so it is kept lean: one process,
one asyncio loop, aiohttp over keep-alive connections (httpx spent about 3 ms of CPU per request here, as much
as the app). Its own CPU is printed next to the app's, so a run where the generator is the bottleneck shows, and so
is what PostgreSQL's and Redis's processes spent per order (per transaction, beside pgbench's own, for the floor):
on a machine of two cores, the four of them share the same two.
"""

import argparse
import asyncio
import glob
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp
import httpx
import orjson
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
YARDSTICK = ROOT.parent / "shared" / "bench"  # schema.sql and order_tx.sql, shared by every checkout
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SYMBOL = "AAPL"
QUANTITY = Decimal("0.01")
PASSWORD = "bench password 1"
# The target (issue 10): with the access log on, at 32 clients at least a quarter of the floor's rate with a p99
# within 3x the floor's; at 8 clients a p99 under 50 ms.
TARGET_FRACTION, TARGET_P99_RATIO = 0.25, 3.0
FEW_CLIENTS, TARGET_FEW_P99_MS = 8, 50.0
SLICE = 2.0  # seconds of each turn when several apps take turns (--access-log both)


@dataclass
class Tally:
    """What one side of the benchmark did: latencies of successes (seconds) and every answer's status."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu_seconds: float | None = None  # the app process's CPU time while measured (Linux)
    client_cpu_seconds: float = 0.0  # the load generator's own CPU time while measured (pgbench's, for the floor)
    services_cpu: Counter = field(default_factory=Counter)  # PostgreSQL's and Redis's CPU time while measured

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1] * 1000


# The database and the app


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database (URL); dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database() -> Iterator[str]:
    """A database for the app; dropped afterwards together with the app's Redis keys."""
    with scratch_database("sherwood_bench") as url:
        try:
            yield url
        finally:
            drop_redis_keys(url.rsplit("/", 1)[1])


def drop_redis_keys(name: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"sherwood:{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _stat(path: Path) -> tuple[str, float] | None:
    """A process's name and user + system CPU time so far, from its /proc stat (None once it is gone)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return text[text.index("(") + 1 : text.rindex(")")], (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, from /proc (None where there is none)."""
    found = _stat(Path(f"/proc/{pid}/stat"))
    return found[1] if found is not None else None


SERVICES = {"postgres": "PostgreSQL", "redis-server": "Redis"}  # process names on this machine


class ServicesCpu:
    """The CPU time PostgreSQL's and Redis's processes spend while measured, by service: what the orders (or
    pgbench's transactions) cost the services on the cores they share with the app. Read per process, and again
    while the measured work runs, so that a backend which exits before the end (pgbench's) still counts."""

    def __init__(self) -> None:
        self._before = self._read()
        self._last: dict[int, tuple[str, float]] = dict(self._before)

    @staticmethod
    def _read() -> dict[int, tuple[str, float]]:
        found = {}
        for path in Path("/proc").glob("[0-9]*/stat"):
            stat = _stat(path)
            if stat is not None and stat[0] in SERVICES:
                found[int(path.parent.name)] = (SERVICES[stat[0]], stat[1])
        return found

    def sample(self) -> None:
        self._last.update(self._read())

    def spent(self) -> Counter:
        self.sample()
        spent: Counter = Counter()
        for pid, (service, seconds) in self._last.items():
            spent[service] += seconds - self._before.get(pid, (service, 0.0))[1]
        return spent


@contextmanager
def running_apps(database_url: str, instances: int, access_log: bool) -> Iterator[list[tuple[str, int]]]:
    """(url, pid) of each of `instances` app processes sharing the database and Redis, as behind a load balancer."""
    with ExitStack() as stack:
        mode = "on" if access_log else "off"
        logs = [Path(tempfile.gettempdir()) / f"sherwood-orders-bench-{mode}-{i + 1}.log" for i in range(instances)]
        yield [stack.enter_context(running_app(database_url, log, access_log)) for log in logs]


@contextmanager
def running_app(database_url: str, log_path: Path, access_log: bool) -> Iterator[tuple[str, int]]:
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
        "ACCESS_LOG": "true" if access_log else "false",
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
    """Until the app answers, quotes SYMBOL live and has its year of price history (a fresh database's is built
    behind the live quotes, in a thread that would otherwise be measured with the orders)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the app exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            answer = httpx.get(f"{url}/api/quotes", params={"symbols": SYMBOL}, timeout=2).json()
            history = httpx.get(f"{url}/api/quotes/{SYMBOL}/history", params={"range": "1Y"}, timeout=2).json()
            if answer["quotes"] and not answer["stale"] and len(history["candles"]) > 200:
                return
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    sys.exit(f"the app did not start trading within {timeout}s:\n{log_path.read_text()}")


# The app, over HTTP


async def sign_up(client: aiohttp.ClientSession) -> str:
    email = f"bench-{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    async with client.post("/api/auth/register", json=credentials) as response:
        response.raise_for_status()
    async with client.post("/api/auth/login", json=credentials) as response:
        return (await response.json())["token"]


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


@dataclass
class Load:
    """The signed-up, warmed-up clients of one set of app processes: (session, token) each."""

    pids: list[int]
    clients: list[tuple[aiohttp.ClientSession, str]]


async def prepare(stack: AsyncExitStack, apps: list[tuple[str, int]], clients: int) -> Load:
    """`clients` clients, dealt over the instances in turn as a load balancer would, signed up and warmed up."""
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = [
        await stack.enter_async_context(
            # one keep-alive connection per client
            aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=clients), timeout=timeout)
        )
        for url, _ in apps
    ]
    served_by = [sessions[i % len(sessions)] for i in range(clients)]
    tokens = await asyncio.gather(*(sign_up(session) for session in served_by))
    load = Load([pid for _, pid in apps], list(zip(served_by, tokens, strict=True)))
    warm_up = time.perf_counter() + 1
    await asyncio.gather(*(trade(session, token, warm_up, None) for session, token in load.clients))
    return load


async def measure(load: Load, seconds: float, tally: Tally) -> None:
    """Every client trading for `seconds`, added to `tally`."""
    cpu_before, client_cpu_before = apps_cpu_seconds(load.pids), time.process_time()
    services = ServicesCpu()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(trade(session, token, until, tally) for session, token in load.clients))
    tally.elapsed += time.perf_counter() - started
    tally.client_cpu_seconds += time.process_time() - client_cpu_before
    tally.services_cpu.update(services.spent())
    if cpu_before is not None:
        tally.cpu_seconds = (tally.cpu_seconds or 0.0) + apps_cpu_seconds(load.pids) - cpu_before


async def bench_apps(runs: dict[str, list[tuple[str, int]]], clients: int, seconds: float) -> dict[str, Tally]:
    """Each set of app processes for `seconds`; several sets take turns of SLICE seconds, so that the machine's other
    work (tests, other benchmarks) weighs on each alike. (A B B A would cancel a drift better, but leaves a set idle
    for two turns, near uvicorn's 5 s keep-alive: it hangs up on clients about to send.)"""
    async with AsyncExitStack() as stack:
        loads = {mode: await prepare(stack, apps, clients) for mode, apps in runs.items()}
        tallies = {mode: Tally() for mode in loads}
        rounds = 1 if len(loads) == 1 else max(1, round(seconds / SLICE))
        for mode, load in loads.items():
            print(f"measuring the app, access log {mode} (pids {', '.join(map(str, load.pids))})", end="; ")
        print(f"{seconds:g} s each" + (f", in {rounds} turns" if rounds > 1 else ""), flush=True)
        for _ in range(rounds):
            for mode in loads:
                await measure(loads[mode], seconds / rounds, tallies[mode])
    return tallies


# The floor: pgbench doing the same work in SQL


def pgbench_path() -> str:
    """pgbench on PATH (Debian's wrapper), else the newest PostgreSQL's own."""
    found = shutil.which("pgbench") or max(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), default=None)
    if not found:
        sys.exit("pgbench is missing: scripts/setup.sh test installs it (Debian's postgresql-contrib)")
    return found


def bench_pgbench(clients: int, seconds: float) -> Tally:
    """The yardstick's transaction at the same concurrency, in a scratch database; latencies from its per-transaction
    log (one line per transaction: client, number, latency in µs, script, end time in s and µs)."""
    pgbench = pgbench_path()
    tally = Tally()
    with scratch_database("sherwood_floor") as url, tempfile.TemporaryDirectory() as logs:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((YARDSTICK / "schema.sql").read_text())
        command = [pgbench, "-n", f"-c{clients}", "-j2", f"-T{max(1, round(seconds))}", "-D", "accounts=64", "-l"]
        command += ["-f", str(YARDSTICK / "order_tx.sql"), url]
        services, pgbench_before = ServicesCpu(), _children_cpu_seconds()
        with subprocess.Popen(command, cwd=logs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
            while run.poll() is None:  # its backends exit with it: read them while they run
                services.sample()
                time.sleep(0.25)
            output = run.stdout.read()
        tally.services_cpu.update(services.spent())
        tally.client_cpu_seconds = _children_cpu_seconds() - pgbench_before
        if run.returncode != 0:
            sys.exit(f"pgbench failed ({run.returncode}):\n{output}")
        starts, ends = [], []
        for log in Path(logs).glob("pgbench_log.*"):
            for entry in log.read_text().splitlines():
                _client, _number, latency_us, _script, end_s, end_us = entry.split()[:6]
                latency, end = int(latency_us) / 1e6, int(end_s) + int(end_us) / 1e6
                tally.latencies.append(latency)
                starts.append(end - latency)
                ends.append(end)
    tally.statuses["committed"] = len(tally.latencies)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if failed and int(failed.group(1)):
        tally.statuses["failed"] = int(failed.group(1))
    tally.elapsed = max(ends) - min(starts) if ends else 0.0
    return tally


def _children_cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


# Reporting


def services_line(tally: Tally, per: str) -> str:
    """Where the machine's cores went while measured: each service's share of a core and its CPU per order."""
    count = len(tally.latencies)
    shares = [
        f"{name} {seconds / tally.elapsed:.0%} of a core ({seconds / count * 1000:.2f} ms per {per})"
        for name, seconds in sorted(tally.services_cpu.items())
        if count and tally.elapsed
    ]
    return f"{'':<14}  " + ", ".join(shares)


def line(label: str, tally: Tally, unit: str) -> str:
    p50, p99 = tally.percentile_ms(50), tally.percentile_ms(99)
    return f"{label:<14}: {tally.rate:8.0f} {unit:<8}  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"


def cpu_per_order_ms(app: Tally) -> float | None:
    return app.cpu_seconds / len(app.latencies) * 1000 if app.cpu_seconds and app.latencies else None


def report_app(label: str, app: Tally, floor: Tally) -> None:
    fraction = app.rate / floor.rate if floor.rate else 0.0
    p99_ratio = app.percentile_ms(99) / floor.percentile_ms(99)
    met = fraction >= TARGET_FRACTION and p99_ratio <= TARGET_P99_RATIO
    print(line(label, app, "orders/s"))
    print(f"{'':<14}  answers: {dict(app.statuses)}")
    if (per_order := cpu_per_order_ms(app)) is not None:
        print(f"{'':<14}  app CPU {app.cpu_seconds / app.elapsed:.0%} of a core ({per_order:.2f} ms per order)")
    print(f"{'':<14}  load generator CPU {app.client_cpu_seconds / app.elapsed:.0%} of a core")
    print(services_line(app, "order"))
    target = f"{TARGET_FRACTION:.0%} of the floor with p99 within {TARGET_P99_RATIO:g} x the floor's"
    print(f"{'':<14}  app / floor {fraction:.1%}, p99 {p99_ratio:.1f} x the floor's")
    print(f"{'':<14}  ({'meets' if met else 'misses'} the target: {target})")


def report(apps: dict[str, Tally], floor: Tally) -> None:
    print(line("pgbench floor", floor, "tx/s"))
    if floor.elapsed and floor.latencies:
        pgbench_ms = floor.client_cpu_seconds / len(floor.latencies) * 1000
        share = floor.client_cpu_seconds / floor.elapsed
        print(f"{'':<14}  pgbench CPU {share:.0%} of a core ({pgbench_ms:.2f} ms per tx)")
        print(services_line(floor, "tx"))
    if set(floor.statuses) != {"committed"}:
        print(f"{'':<14}  transactions: {dict(floor.statuses)}")
    for mode, app in apps.items():
        report_app(f"app, log {mode}", app, floor)
    if {"on", "off"} <= apps.keys():
        on, off = apps["on"], apps["off"]
        cost = 1 - on.rate / off.rate if off.rate else float("nan")
        print(f"{'access log':<14}: costs {cost:.1%} of the order rate ({on.rate:.0f} on, {off.rate:.0f} off)", end="")
        cpu_on, cpu_off = cpu_per_order_ms(on), cpu_per_order_ms(off)
        if cpu_on is not None and cpu_off is not None:
            print(f", {cpu_on - cpu_off:+.2f} ms of app CPU per order ({cpu_on / cpu_off - 1:+.1%})", end="")
        print()


def report_few(app: Tally, clients: int) -> None:
    met = app.percentile_ms(99) < TARGET_FEW_P99_MS
    print(line(f"{clients} clients", app, "orders/s"))
    print(f"{'':<14}  ({'meets' if met else 'misses'} the target: p99 < {TARGET_FEW_P99_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (and users)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time of each side")
    parser.add_argument(
        "--few-clients", type=int, default=FEW_CLIENTS, help="then this many clients on the same app (0: skip)"
    )
    parser.add_argument("--instances", type=int, default=1, help="app processes sharing the database and Redis")
    parser.add_argument(
        "--access-log",
        choices=("on", "off", "both"),
        default="on",
        help="the app's ACCESS_LOG (on: the default setting); both: an app of each, measured in turns",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    modes = ("on", "off") if args.access_log == "both" else (args.access_log,)
    print(f"{args.clients} clients for {args.seconds:g} s each side")
    with ExitStack() as stack:
        runs = {}
        for mode in modes:
            database_url = stack.enter_context(fresh_database())
            runs[mode] = stack.enter_context(running_apps(database_url, args.instances, mode == "on"))
            urls = ", ".join(url for url, _ in runs[mode])
            logs = f"{tempfile.gettempdir()}/sherwood-orders-bench-{mode}-*.log"
            print(f"app, access log {mode}, on {urls} (logs: {logs})")
        apps = asyncio.run(bench_apps(runs, args.clients, args.seconds))
        few = {}
        if args.few_clients:  # the first app again (the access log on, by default), with few clients
            few = asyncio.run(bench_apps({modes[0]: runs[modes[0]]}, args.few_clients, args.seconds))
    print(f"measuring the pgbench floor ({YARDSTICK / 'order_tx.sql'}) for {args.seconds:g} s", flush=True)
    floor = bench_pgbench(args.clients, args.seconds)
    report(apps, floor)
    for app in few.values():
        report_few(app, args.few_clients)
    # Other work on the machine skews both sides, the app's more (it is CPU-bound): say how busy it was.
    print(f"{'load average':<14}: {load_before:.1f} before the run (1 min)")


if __name__ == "__main__":
    main()
