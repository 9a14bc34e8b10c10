"""Benchmark the NiceGUI pages: many logged-in sessions on the portfolio page "/" of one Sherwood process.

    .venv/bin/python bench/ui_bench.py --sessions 10,50,200 --seconds 20 --symbols 20

Each session count gets a fresh app process (embedded: SQLite in a temp dir, in-process bus, simulator feed at its
default rate, no order rate limit) and as many users, each with a watchlist of `--symbols` symbols and one small
position. The sessions are SIMULATED browsers (bench/ui_client.py): no JavaScript runs; each tab loads the page over
HTTP with a session cookie and connects to NiceGUI's socket.io endpoint as nicegui.js does, and counts the `update`
messages. Latency is publish-to-update: from the feed's timestamp of the quote whose price a watchlist row
shows (learnt by polling /api/quotes, bench/ui_tap.py) to the arrival of the row's new text at the tab.
Server CPU (% of one core) and RSS come from /proc/<pid>; per-session memory is (RSS busy - RSS idle) / sessions.
The machine is shared: CPU used by other processes during each window is reported, and rounds wait (bounded) for
the rest of the machine to be quiet before measuring.
"""

import argparse
import asyncio
import contextlib
import gc
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ui_client import Tab  # noqa: E402
from bench.ui_tap import QuoteTap  # noqa: E402
from settings import DATA_DIR  # noqa: E402
from tests.support.server import started_app  # noqa: E402

STORAGE_DIR = DATA_DIR / "browser-storage"  # where app.py keeps NiceGUI's per-browser storage (not configurable)
PASSWORD = "bench-password-1"
SETUP_CONCURRENCY = 8  # password hashing runs on the server's 2 cores: more only queues
OPEN_CONCURRENCY = 4  # pages built at once, like a crowd arriving, not a thundering herd
OPEN_ATTEMPTS = 3  # a page that failed (500 after NiceGUI's 3 s response timeout) is reloaded, as a person would
SETTLE_SECONDS = 3.0  # after start-up and after connecting, before measuring
CONNECT_TIMEOUT = 15.0
QUIET_PERCENT = 15.0  # other processes' CPU (% of one core) below which the machine counts as quiet
QUIET_WAIT = 60.0  # longest wait for quiet before measuring anyway (the verdict says when it was contended)
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_P95_MS, TARGET_KB_PER_SESSION, TARGET_SESSIONS = 250, 1024, 200


# Processes and the machine, from /proc.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14 and 15 of stat)


def machine_cpu_seconds() -> float:
    """Busy CPU time of all cores together (first line of /proc/stat, less idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class Window:
    """CPU over one measurement window (% of one core) and the server's RSS at its end (steady state)."""

    cpu_percent: float
    rss_mb: float
    bench_cpu_percent: float  # this process: it shares the machine's two cores with the server
    other_cpu_percent: float  # everything else on the machine (other people's work included)


async def measure(pid: int, seconds: float) -> Window:
    server0, own0, machine0, t0 = cpu_seconds(pid), time.process_time(), machine_cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    server, own = cpu_seconds(pid) - server0, time.process_time() - own0
    other = machine_cpu_seconds() - machine0 - server - own
    return Window(
        cpu_percent=100 * server / elapsed,
        rss_mb=rss_mb(pid),
        bench_cpu_percent=100 * own / elapsed,
        other_cpu_percent=max(0.0, 100 * other / elapsed),
    )


async def wait_for_quiet(pid: int) -> float:
    """Wait (bounded) until other processes use little CPU; returns the last reading."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        other = (await measure(pid, 2.0)).other_cpu_percent
        if other < QUIET_PERCENT or time.monotonic() > deadline:
            return other
        print(f"  waiting for the machine: other processes use {other:.0f} % of a core", flush=True)


# Users: registered, logged in, watching symbols and holding one position, through the REST API.


def expect(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
    return response


async def prepare_user(http: httpx.AsyncClient, watched: list[str]) -> str:
    """A new user watching exactly `watched` and holding one share of the first; returns its bearer token."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    expect(await http.post("/api/auth/register", json={"email": email, "password": PASSWORD}), 201)
    token = expect(await http.post("/api/auth/login", json={"email": email, "password": PASSWORD}), 200).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    listed: list[str] = []
    for symbol in watched:
        listed = expect(await http.put(f"/api/watchlist/{symbol}", headers=auth), 200).json()["symbols"]
    for extra in [s for s in listed if s not in watched]:  # new accounts start with a default list
        expect(await http.delete(f"/api/watchlist/{extra}", headers=auth), 200)
    order = {"symbol": watched[0], "side": "buy", "orderType": "market", "quantity": "1"}
    headers = {**auth, "X-Idempotency-Key": uuid.uuid4().hex}
    expect(await http.post("/api/orders", json=order, headers=headers), 201)
    return token


async def wait_for_quotes(http: httpx.AsyncClient, listed: list[str], timeout: float = 60.0) -> None:
    """Until the fresh app's feed has quoted every symbol: a market buy before that fails with NO_QUOTE."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        quoted = {q["symbol"] for q in expect(await http.get("/api/quotes"), 200).json()["quotes"]}
        if quoted.issuperset(listed):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the feed quoted only some symbols within {timeout:.0f} s")


async def prepare_users(http: httpx.AsyncClient, count: int, symbols: int, seed: int) -> list[str]:
    listed = [x["symbol"] for x in expect(await http.get("/api/symbols"), 200).json()["symbols"]]
    await wait_for_quotes(http, listed)
    rng = random.Random(seed)
    watchlists = [rng.sample(listed, min(symbols, len(listed))) for _ in range(count)]
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(watched: list[str]) -> str:
        async with gate:
            return await prepare_user(http, watched)

    return await asyncio.gather(*(one(w) for w in watchlists))


# Sessions.


async def open_tabs(http: httpx.AsyncClient, tokens: list[str], secret: str, tabs: list[Tab]) -> list[str]:
    """Open one tab per token on "/" (added to `tabs` at once, so the caller can always close them);
    returns the errors of tabs that never opened."""
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    base_url = str(http.base_url).rstrip("/")

    async def one(token: str) -> None:
        async with gate:
            tab = Tab(base_url, STORAGE_DIR, secret, token, connect_timeout=CONNECT_TIMEOUT)
            tabs.append(tab)
            await tab.start(http, OPEN_ATTEMPTS)

    results = await asyncio.gather(*(one(t) for t in tokens), return_exceptions=True)
    return [repr(r) for r in results if isinstance(r, BaseException)]


async def close_tabs(tabs: list[Tab]) -> None:
    await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)


def remove_storage(tabs: list[Tab]) -> None:
    """Only the files this run wrote (the storage folder is shared with the developer's app)."""
    for tab in tabs:
        for path in tab.files:
            path.unlink(missing_ok=True)


# One round: a fresh app, its users, an idle and a busy window.


@dataclass
class Row:
    sessions: int
    errors: list[str]  # sessions that never opened
    streaming: int  # tabs connected at the end of the busy window
    idle: Window
    busy: Window
    updates_per_s: float
    kb_per_s: float
    latencies: list[float]
    unmatched: int
    page_seconds: list[float]
    lag_ms: list[float]  # the tap's round trips during the busy window
    failed_loads: Counter  # HTTP status of page loads that failed (and were reloaded)
    losses: Counter  # why connections dropped during the round
    reconnects: int  # drops resumed on the same page
    reloads: int  # drops after which the server no longer held the page: loaded anew

    @property
    def kb_per_session(self) -> float:
        return (self.busy.rss_mb - self.idle.rss_mb) * 1024 / max(self.streaming, 1)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def app_env(database: Path, secret: str, seed: int) -> dict[str, str]:
    # Empty values count as unset in the app's settings: nothing from this shell leaks in (Redis, a feed rate).
    return {
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "MARKET_FEED": "simulator",
        "MARKET_FEED_RATE": "",
        "MARKET_HOURS": "always",
        "MARKET_SEED": str(seed),  # the same tape every run: symbols' activity differs tenfold between seeds
        "ORDER_RATE_LIMIT": "0",
        "API_RATE_LIMIT": "0",
        "STORAGE_SECRET": secret,
    }


async def measure_sessions(app, http: httpx.AsyncClient, sessions: int, args, tabs: list[Tab]) -> Row:
    pid = app.process.pid
    tokens = await prepare_users(http, sessions, args.symbols, args.seed)
    tap, stop = QuoteTap(app.url, args.poll_ms / 1000), asyncio.Event()
    tap_task = asyncio.create_task(tap.run(http, stop))
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        await wait_for_quiet(pid)
        idle = await measure(pid, args.idle_seconds)
        errors = await open_tabs(http, tokens, args.secret, tabs)
        await asyncio.sleep(SETTLE_SECONDS)
        await wait_for_quiet(pid)
        busy, lag = await busy_window(pid, tabs, tap, args, sessions)
        await asyncio.sleep(args.poll_ms / 1000 * 2)  # the tap's last polls cover the window's last updates
    finally:
        stop.set()
        await asyncio.gather(tap_task, return_exceptions=True)
    return summarize(sessions, errors, idle, busy, lag, tabs, tap, args.seconds)


async def busy_window(pid: int, tabs: list[Tab], tap: QuoteTap, args, sessions: int) -> tuple[Window, list[float]]:
    tap.rtts.clear()
    for tab in tabs:
        tab.recording = True
    profiler = start_profiler(pid, args, sessions)
    try:
        busy = await measure(pid, args.seconds)
    finally:
        for tab in tabs:
            tab.recording = False
        finish_profiler(profiler)
    return busy, [rtt * 1000 for rtt in tap.rtts]


def summarize(sessions, errors, idle, busy, lag, tabs: list[Tab], tap: QuoteTap, seconds: float) -> Row:
    latencies, unmatched = [], 0
    for tab in tabs:
        for change in tab.price_changes:
            appeared = tap.appeared_ms(change.symbol, change.text, change.received_ms)
            if appeared is None:
                unmatched += 1
            else:
                latencies.append(change.received_ms - appeared)
    opened = max(len(tabs) - len(errors), 1)  # per-session rates include any outage of a session
    return Row(
        sessions=sessions,
        errors=errors,
        streaming=sum(tab.connected for tab in tabs),
        idle=idle,
        busy=busy,
        updates_per_s=sum(t.updates for t in tabs) / seconds / opened,
        kb_per_s=sum(t.update_bytes for t in tabs) / 1024 / seconds / opened,
        latencies=latencies,
        unmatched=unmatched,
        page_seconds=[t.page_seconds for t in tabs if t.page_seconds is not None],
        lag_ms=lag,
        failed_loads=Counter(status for t in tabs for status in t.failed_loads),
        losses=Counter(reason for t in tabs for reason in t.losses),
        reconnects=sum(t.reconnects for t in tabs),
        reloads=sum(t.reloads for t in tabs),
    )


async def run_round(sessions: int, args, workdir: Path) -> Row:
    tabs: list[Tab] = []
    env = app_env(workdir / f"sherwood-{sessions}.db", args.secret, args.seed)
    try:
        with started_app(workdir / f"app-{sessions}.log", **env) as app:
            limits = httpx.Limits(max_connections=SETUP_CONCURRENCY * 2 + 4)
            async with httpx.AsyncClient(base_url=app.url, timeout=30, limits=limits) as http:
                try:
                    return await measure_sessions(app, http, sessions, args, tabs)
                finally:
                    await close_tabs(tabs)
    finally:
        remove_storage(tabs)  # after the app stopped: it may write a file back while running


# Optional profile of the server during the busy window (py-spy, installed for the bench only).


def start_profiler(pid: int, args, sessions: int) -> subprocess.Popen | None:
    if not args.profile or sessions != max(args.sessions):
        return None
    out = Path(args.profile) / f"ui-bench-{sessions}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy) if py_spy.exists() else "py-spy", "record", "-p", str(pid), "-d", str(int(args.seconds))]
    command += ["--nonblocking", "-r", "50", "-f", "raw", "-o", str(out)]  # never pause the server
    print(f"  profiling the server into {out}", flush=True)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_profiler(profiler: subprocess.Popen | None) -> None:
    if profiler is None:
        return
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()


# Output.


def print_table(rows: list[Row]) -> None:
    print()
    print("SIMULATED browser sessions (python-socketio clients, no JavaScript) on the portfolio page '/'")
    header = ("sessions", "server CPU %", "RSS MB", "KB/session", "updates/s/session", "p50 ms", "p95 ms")
    print(" | ".join(header))
    print(" | ".join("-" * len(h) for h in header))
    for r in rows:
        cells = (
            f"{r.streaming}/{r.sessions}",
            f"{r.busy.cpu_percent:.1f}",
            f"{r.busy.rss_mb:.1f}",
            f"{r.kb_per_session:.0f}",
            f"{r.updates_per_s:.2f}",
            f"{percentile(r.latencies, 0.50):.0f}",
            f"{percentile(r.latencies, 0.95):.0f}",
        )
        print(" | ".join(c.rjust(len(h)) for c, h in zip(cells, header, strict=True)))
    print()
    for r in rows:
        print_details(r)
    print_verdict(rows)


def print_details(r: Row) -> None:
    pages = r.page_seconds
    print(
        f"  {r.sessions} sessions: idle CPU {r.idle.cpu_percent:.1f} %, idle RSS {r.idle.rss_mb:.1f} MB; "
        f"{r.kb_per_s:.1f} KB/s of updates per session; {len(r.latencies)} price changes timed "
        f"({r.unmatched} unmatched), p99 {percentile(r.latencies, 0.99):.0f} ms"
    )
    print(
        f"    page load p50 {percentile(pages, 0.5):.2f} s, p95 {percentile(pages, 0.95):.2f} s, "
        f"max {max(pages, default=float('nan')):.2f} s; failed loads {dict(r.failed_loads)}; "
        f"never opened {len(r.errors)}; streaming at the end {r.streaming}"
    )
    if r.losses:
        print(
            f"    connections lost {dict(r.losses)}: {r.reconnects} resumed, {r.reloads} pages reloaded "
            "(the server had dropped them)"
        )
    print(
        f"    event-loop gauge (/api/quotes round trip) p50 {percentile(r.lag_ms, 0.5):.0f} ms, "
        f"p99 {percentile(r.lag_ms, 0.99):.0f} ms, max {max(r.lag_ms, default=float('nan')):.0f} ms; "
        f"CPU of this bench {r.busy.bench_cpu_percent:.0f} %, of other processes {r.busy.other_cpu_percent:.0f} %"
        + (" (CONTENDED: figures unreliable)" if r.busy.other_cpu_percent > QUIET_PERCENT else "")
    )
    if r.errors:
        print(f"    e.g. {r.errors[0]}")


def print_verdict(rows: list[Row]) -> None:
    target = [r for r in rows if r.sessions >= TARGET_SESSIONS]
    if not target:
        return
    r = target[0]
    p95_ok = percentile(r.latencies, 0.95) < TARGET_P95_MS
    kb_ok = r.kb_per_session < TARGET_KB_PER_SESSION
    all_ok = r.streaming == r.sessions and not r.losses
    print(
        f"  target at {r.sessions} sessions: all streaming {'met' if all_ok else 'MISSED'}, "
        f"p95 < {TARGET_P95_MS} ms {'met' if p95_ok else 'MISSED'}, "
        f"< 1 MB per session {'met' if kb_ok else 'MISSED'}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="10,50,200", type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the busy measurement window")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="length of the idle window")
    parser.add_argument("--symbols", type=int, default=20, help="watchlist size of each user")
    parser.add_argument("--poll-ms", type=float, default=50.0, help="quote tap poll period")
    parser.add_argument("--seed", type=int, default=7, help="picks the watchlists and the simulated market")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the server during the largest round's window")
    parser.add_argument("--keep", metavar="DIR", help="keep the app logs and databases here (default: a temp dir)")
    args = parser.parse_args(argv)
    args.secret = secrets.token_urlsafe(32)  # the app's STORAGE_SECRET: the bench signs session cookies with it
    return args


async def main_async(args: argparse.Namespace) -> list[Row]:
    STORAGE_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for sessions in args.sessions:
            print(f"{sessions} sessions: starting a fresh app, creating users...", flush=True)
            rows.append(await run_round(sessions, args, workdir))
            r = rows[-1]
            print(f"  done: {r.streaming} streaming, CPU {r.busy.cpu_percent:.1f} %", flush=True)
    return rows


def main() -> None:
    args = parse_args()
    # This process holds hundreds of clients: its own full collections would stall them and read as latency.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    with contextlib.suppress(KeyboardInterrupt):
        print_table(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
