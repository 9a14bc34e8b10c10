"""Benchmark `/ws` fan-out: the app against a bare `websockets` broadcast server, fed the same quotes over Redis.

    .venv/bin/python bench/ws_bench.py --clients 1000 --symbols-per-client 20 --seconds 20 --rate 200

Both servers run as their own processes and follow the same Redis channel, fed by a publisher process that
stamps each quote with its publish time (Unix ms). Client processes open N connections, each subscribing to
random listed symbols, and measure publish-to-receive latency and the quotes delivered.
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import resource
import secrets
import socket
import sys
import tempfile
import time
from array import array
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import redis
import redis.asyncio as aioredis
import uvloop
from websockets.asyncio.server import serve
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.market import Quote  # noqa: E402
from services import symbols  # noqa: E402
from services.market.quote_hub import BATCH_INTERVAL, QUOTES_CHANNEL, encode_batch  # noqa: E402
from settings import load_settings  # noqa: E402
from tests.support.server import free_port, started_app  # noqa: E402

MAX_LATENCY_MS = 30_000  # histogram range; anything later counts in the last bucket
CONNECT_CONCURRENCY = 100
EXACT_FIELDS = ("symbol", "volume", "timestamp")  # the rest are decimal strings on the bus and numbers on the wire


# The publisher: `rate` quotes a second, in one bus message per tick, like the market feed.


def publish(redis_url: str, namespace: str, rate: float, tick: float, stop: mp.Event) -> None:
    client = redis.Redis.from_url(redis_url)
    listed = list(symbols.listings())
    owed = 0.0
    next_tick = time.monotonic()
    while not stop.is_set():
        owed += rate * tick
        count, owed = int(owed), owed - int(owed)
        now_ms = time.time_ns() // 1_000_000
        quotes = [_quote(listing, now_ms) for listing in random.sample(listed, min(count, len(listed)))]
        if quotes:
            pipe = client.pipeline(transaction=False)
            pipe.hset(namespace + "quotes", mapping={q.symbol: orjson.dumps(q.model_dump(mode="json")) for q in quotes})
            pipe.publish(namespace + QUOTES_CHANNEL, encode_batch(quotes))
            pipe.execute()
        next_tick += tick
        time.sleep(max(0.0, next_tick - time.monotonic()))


def _quote(listing: symbols.Listing, now_ms: int) -> Quote:
    last = (listing.reference_price * Decimal(1 + random.uniform(-0.01, 0.01))).quantize(Decimal("0.01"))
    return Quote(
        symbol=listing.symbol,
        bid=last - Decimal("0.01"),
        ask=last + Decimal("0.01"),
        last=last,
        volume=random.randint(100, 1_000_000),
        timestamp=now_ms,
        change=last - listing.reference_price,
        change_percent=Decimal("0"),
        prev_close=listing.reference_price,
    )


# The bare server: the least a `websockets` server needs to do the same job.


def bare_server(port: int, redis_url: str, channel: str) -> None:
    uvloop.run(_bare_server(port, redis_url, channel))


class _BareClient:
    def __init__(self, ws):
        self.ws = ws
        self.pending: dict[str, bytes] = {}
        self.ready = asyncio.Event()
        self.last = 0.0

    async def send_batches(self) -> None:
        while True:
            await self.ready.wait()
            wait = self.last + BATCH_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.ready.clear()
            pending, self.pending = self.pending, {}
            self.last = time.monotonic()
            await self.ws.send(b'{"type":"quote_batch","data":[' + b",".join(pending.values()) + b"]}", text=True)


async def _bare_server(port: int, redis_url: str, channel: str) -> None:
    followers: dict[str, set[_BareClient]] = defaultdict(set)
    latest: dict[str, bytes] = {}

    async def handle(ws) -> None:
        client = _BareClient(ws)
        sender = asyncio.create_task(client.send_batches())
        await ws.send('{"type":"connected","authenticated":false}')
        try:
            async for message in ws:
                wanted = orjson.loads(message)["symbols"]
                for symbol in wanted:
                    followers[symbol].add(client)
                snapshot = b",".join(latest[s] for s in wanted if s in latest)
                await ws.send(b'{"type":"quotes","data":[' + snapshot + b"]}", text=True)
        finally:
            sender.cancel()
            for clients in followers.values():
                clients.discard(client)

    async def follow() -> None:
        pubsub = aioredis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        async for message in pubsub.listen():
            for q in orjson.loads(message["data"])["quotes"]:
                wire = orjson.dumps({k: v if k in EXACT_FIELDS else float(v) for k, v in q.items()})
                latest[q["symbol"]] = wire
                for client in followers.get(q["symbol"], ()):
                    client.pending[q["symbol"]] = wire
                    client.ready.set()

    async with serve(handle, "127.0.0.1", port, backlog=4096, compression=None):  # as the app: no deflate
        await follow()


# The clients: lean ones on websockets' sans-I/O protocol, since the asyncio client's per-message futures
# would cost more CPU than the servers under test, on the same two cores.


class _Stats:
    def __init__(self, window):
        self.window = window  # measuring from, until (wall clock); 0 while unset
        self.histogram = array("q", bytes(8 * (MAX_LATENCY_MS + 1)))
        self.quotes = self.messages = self.lost = 0

    def record(self, batch: bytes) -> None:
        now = time.time()
        if not self.window[0] or not self.window[0] <= now < self.window[1]:
            return
        self.messages += 1
        now_ms = now * 1000
        for q in orjson.loads(batch)["data"]:
            self.histogram[min(MAX_LATENCY_MS, max(0, int(now_ms - q["timestamp"])))] += 1
            self.quotes += 1


class _Client(asyncio.Protocol):
    def __init__(self, url: str, wanted: list[str], stats: _Stats, subscribed: asyncio.Future):
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.wanted, self.stats, self.subscribed = wanted, stats, subscribed

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._on_message(event.data)
        self._flush()  # the subscribe, pongs

    def _on_message(self, data: bytes) -> None:
        if data.startswith(b'{"type":"quote_batch"'):
            self.stats.record(data)
        elif data.startswith(b'{"type":"connected"'):
            self.ws.send_text(orjson.dumps({"type": "subscribe", "symbols": self.wanted}))
        elif data.startswith(b'{"type":"quotes"') and not self.subscribed.done():
            self.subscribed.set_result(None)

    def connection_lost(self, exc) -> None:
        self.stats.lost += 1
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed before subscribing"))

    def _flush(self) -> None:
        data = b"".join(self.ws.data_to_send())
        if data and not self.transport.is_closing():
            self.transport.write(data)


def run_clients(url: str, count: int, per_client: int, seed: int, window, results) -> None:
    results.put(uvloop.run(_run_clients(url, count, per_client, seed, window, results)))


async def _run_clients(url, count, per_client, seed, window, results) -> dict:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    listed = [listing.symbol for listing in symbols.listings()]
    stats = _Stats(window)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    parts = urlsplit(url)

    async def subscribed(wanted: list[str]) -> asyncio.Transport:
        async with gate:
            done = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda: _Client(url, wanted, stats, done), parts.hostname, parts.port
            )
            await asyncio.wait_for(done, 60)
            return transport

    connections = await asyncio.gather(
        *(subscribed(rng.sample(listed, per_client)) for _ in range(count)), return_exceptions=True
    )
    results.put("connected")
    while not window[1] or time.time() < window[1]:
        await asyncio.sleep(0.1)
    lost = stats.lost
    for transport in connections:
        if not isinstance(transport, BaseException):
            transport.abort()
    return {
        "histogram": stats.histogram.tobytes(),
        "quotes": stats.quotes,
        "messages": stats.messages,
        "failed": sum(isinstance(c, BaseException) for c in connections) + lost,
    }


# Measuring one server.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_times() -> tuple[int, int]:
    """(all, idle) jiffies of every core since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]  # idle + iowait


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def measure(name: str, url: str, server_pid: int, args, redis_url: str, namespace: str) -> dict:
    stop = mp.Event()
    publisher = mp.Process(target=publish, args=(redis_url, namespace, args.rate, args.tick_ms / 1000, stop))
    publisher.start()
    window = mp.Array("d", 2, lock=False)  # measuring from, until (wall clock); 0 while unset
    results = mp.Queue()
    shares = [
        args.clients // args.client_processes + (i < args.clients % args.client_processes)
        for i in range(args.client_processes)
    ]
    workers = [
        mp.Process(target=run_clients, args=(url, n, args.symbols_per_client, i, window, results))
        for i, n in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert results.get(timeout=300) == "connected"
    time.sleep(args.warmup)
    window[1] = time.time() + args.seconds
    window[0] = time.time()
    pids = [server_pid, *(worker.pid for worker in workers)]
    cpu_before, machine_before, wall_before = [cpu_seconds(p) for p in pids], machine_times(), time.monotonic()
    peak_rss = 0.0
    while time.time() < window[1]:
        peak_rss = max(peak_rss, rss_mb(server_pid))
        time.sleep(0.5)
    elapsed = time.monotonic() - wall_before
    cpu = [(cpu_seconds(p) - before) / elapsed * 100 for p, before in zip(pids, cpu_before, strict=True)]
    machine = [after - before for after, before in zip(machine_times(), machine_before, strict=True)]
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    stop.set()
    publisher.join()

    histogram = [0] * (MAX_LATENCY_MS + 1)
    for report in reports:
        for ms, n in enumerate(array("q", report["histogram"])):
            histogram[ms] += n
    quotes = sum(r["quotes"] for r in reports)
    return {
        "name": name,
        "failed": sum(r["failed"] for r in reports),
        "quotes_per_s": quotes / args.seconds,
        "messages_per_s": sum(r["messages"] for r in reports) / args.seconds,
        "p50": _percentile(histogram, 0.50),
        "p99": _percentile(histogram, 0.99),
        "max": max((ms for ms, n in enumerate(histogram) if n), default=0),
        "cpu": cpu[0],
        "client_cpu": sum(cpu[1:]),
        "machine_busy": 100 * (1 - machine[1] / machine[0]),
        "rss": peak_rss,
    }


def _percentile(histogram: list[int], fraction: float) -> int:
    target, seen = fraction * sum(histogram), 0
    for ms, n in enumerate(histogram):
        seen += n
        if seen >= target:
            return ms
    return MAX_LATENCY_MS


def report(app: dict, bare: dict, args) -> None:
    rows = [
        ("failed or lost connections", "failed", "{:.0f}"),
        ("quotes delivered /s", "quotes_per_s", "{:,.0f}"),
        ("messages delivered /s", "messages_per_s", "{:,.0f}"),
        ("latency p50 (ms)", "p50", "{}"),
        ("latency p99 (ms)", "p99", "{}"),
        ("latency max (ms)", "max", "{}"),
        ("server CPU (% of a core)", "cpu", "{:.0f}"),
        ("server RSS peak (MB)", "rss", "{:.0f}"),
        ("client processes CPU (%)", "client_cpu", "{:.0f}"),
        ("machine busy (% of all cores)", "machine_busy", "{:.0f}"),
    ]
    print(
        f"\n{args.clients} clients x {args.symbols_per_client} symbols, {args.rate:g} quotes/s published, "
        f"{args.seconds:g} s measured"
    )
    print(f"{'':30}{'app':>10}{'bare':>10}")
    for label, key, fmt in rows:
        print(f"{label:30}{fmt.format(app[key]):>10}{fmt.format(bare[key]):>10}")
    print(
        f"p99 ratio app/bare: {app['p99'] / max(bare['p99'], 1):.2f}   "
        f"throughput ratio app/bare: {app['quotes_per_s'] / max(bare['quotes_per_s'], 1):.2f}"
    )


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--symbols-per-client", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=200, help="quotes published per second")
    parser.add_argument("--tick-ms", type=float, default=20, help="one bus message per tick")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--database-url", help="default: a throw-away SQLite file (streaming never touches it)")
    parser.add_argument("--only", choices=["app", "bare"])
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * args.clients + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # children inherit it

    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/bench_{secrets.token_hex(4)}.db"
        namespace = load_settings(database_url=database_url).redis_namespace()
        results = {}
        try:
            if args.only != "bare":
                env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "MARKET_FEED": "none"}
                env["API_RATE_LIMIT"] = "0"  # every simulated user signs up from this one address
                with started_app(Path(tmp) / "app.log", **env) as app:
                    url = app.url.replace("http://", "ws://") + "/ws"
                    results["app"] = measure("app", url, app.process.pid, args, args.redis_url, namespace)
            if args.only != "app":
                port = free_port()
                server = mp.Process(target=bare_server, args=(port, args.redis_url, namespace + QUOTES_CHANNEL))
                server.start()
                _wait_for_port(port)
                try:
                    results["bare"] = measure(
                        "bare", f"ws://127.0.0.1:{port}/", server.pid, args, args.redis_url, namespace
                    )
                finally:
                    server.terminate()
                    server.join()
        finally:
            client = redis.Redis.from_url(args.redis_url)
            client.delete(namespace + "quotes")
    for result in results.values():
        print(result)
    if len(results) == 2:
        report(results["app"], results["bare"], args)


if __name__ == "__main__":
    main()
