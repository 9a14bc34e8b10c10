"""Benchmark the Alpaca data stream: quote on the feed (the Redis bus) -> quote in an alpaca-py StockDataStream
callback, for many clients at once.

    .venv/bin/python bench/alpaca_stream_bench.py --clients 100 --symbols-per-client 10 --rate 50 --seconds 20

A Sherwood process (PostgreSQL + Redis, no feed of its own) serves /alpaca/v2/iex; a publisher thread puts
`rate` quotes a second on the bus, each stamped with its publish time (Unix ms); the clients (alpaca-py streams
in this process, msgpack as the SDK asks) record publish-to-callback latency. Prints p50/p95/p99 and counts.
"""

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alpaca.data.live import StockDataStream  # noqa: E402

from services.market import symbols  # noqa: E402
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch  # noqa: E402
from settings import load_settings  # noqa: E402
from tests.support.databases import REDIS_URL, fresh_postgres  # noqa: E402
from tests.support.factories import PASSWORD, quote, random_email  # noqa: E402
from tests.support.server import started_app  # noqa: E402


def publish(namespace: str, rate: float, stop: threading.Event) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    listed = [x.symbol for x in symbols.listings()]
    tick, owed = 0.01, 0.0
    while not stop.is_set():
        owed += rate * tick
        count, owed = int(owed), owed - int(owed)
        if count:
            now = time.time_ns() // 1_000_000
            batch = [quote(random.choice(listed), "100.00", timestamp=now) for _ in range(count)]
            client.publish(namespace + QUOTES_CHANNEL, encode_batch(batch))
        time.sleep(tick)


def key_pair(base_url: str) -> tuple[str, str]:
    body = {"email": random_email(), "password": PASSWORD}
    httpx.post(f"{base_url}/api/auth/register", json=body, timeout=30).raise_for_status()
    token = httpx.post(f"{base_url}/api/auth/login", json=body, timeout=30).json()["token"]
    created = httpx.post(
        f"{base_url}/api/keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    return created["key"]["keyId"], created["secret"]


async def run_clients(
    url: str, namespace: str, key: tuple[str, str], clients: int, per_client: int, seconds: float, rate: float
) -> list[float]:
    latencies: list[float] = []
    listed = [x.symbol for x in symbols.listings()]
    measuring = False

    async def on_quote(q):
        if measuring:
            latencies.append(time.time() * 1000 - q.timestamp.timestamp() * 1000)

    streams = []
    for _ in range(clients):
        stream = StockDataStream(*key, url_override=url)
        stream.subscribe_quotes(on_quote, *random.sample(listed, per_client))
        streams.append(stream)
    tasks = [asyncio.create_task(s._run_forever()) for s in streams]
    deadline = time.monotonic() + 60
    while not all(s._running for s in streams):
        if time.monotonic() > deadline:
            raise SystemExit(f"only {sum(s._running for s in streams)} of {clients} streams connected")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    stop = threading.Event()
    publisher = threading.Thread(target=publish, args=(namespace, rate, stop), daemon=True)
    publisher.start()
    await asyncio.sleep(1)
    measuring = True
    await asyncio.sleep(seconds)
    measuring = False
    stop.set()
    for stream in streams:
        await stream.stop_ws()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--symbols-per-client", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50, help="quotes a second on the bus")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with fresh_postgres("alpacabench") as database, tempfile.TemporaryDirectory() as tmp:
        namespace = load_settings(database_url=database, redis_url=REDIS_URL).redis_namespace()
        env = {"DATABASE_URL": database, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": "0", "ACCESS_LOG": "false"}
        with started_app(Path(tmp) / "app.log", **env) as app:
            key = key_pair(app.url)
            url = app.url.replace("http://", "ws://") + "/alpaca/v2/iex"
            latencies = asyncio.run(
                run_clients(url, namespace, key, args.clients, args.symbols_per_client, args.seconds, args.rate)
            )
    if not latencies:
        raise SystemExit("no quotes arrived")
    latencies.sort()
    at = lambda share: latencies[min(len(latencies) - 1, int(share * len(latencies)))]  # noqa: E731
    print(
        f"{args.clients} alpaca-py StockDataStream clients, {args.symbols_per_client} symbols each, "
        f"{args.rate:g} quotes/s on the bus for {args.seconds:g} s: {len(latencies)} quotes received; "
        f"feed -> callback p50 {at(0.5):.1f} ms, p95 {at(0.95):.1f} ms, p99 {at(0.99):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
