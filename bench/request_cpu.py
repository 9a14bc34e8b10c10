"""The app's CPU per request, by layer: what HTTP and the middleware cost, what the session check adds, what an
order costs on top.

    .venv/bin/python bench/request_cpu.py [--seconds 6] [--access-log on|off]

Starts Sherwood as bench/orders_bench.py does (fresh PostgreSQL database plus Redis, quotas off), signs up 32 clients
and has them call, back to back, each endpoint in turn: GET /api/symbols (no credentials), GET /api/auth/me (the
cached session check) and POST /api/orders (a small market buy). Prints the app process's CPU per request (user and
system, from /proc, the idle process's CPU subtracted). Then the floor of the HTTP stack, in the same run: the same
POSTs against uvicorn serving an ASGI app that only answers, and a FastAPI app of the placement's route alone
(bench/http_floor.py). Compare the figures across runs on one machine: they move with the machine's other load.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import aiohttp
import httpx
import orders_bench as bench
import orjson

CLIENTS = 32
ORDER = orjson.dumps({"symbol": bench.SYMBOL, "side": "buy", "orderType": "market", "quantity": str(bench.QUANTITY)})


def user_and_system(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def call(session, token: str, endpoint: str, until: float, statuses: dict[int, int]) -> None:
    while time.perf_counter() < until:
        headers = {"Authorization": f"Bearer {token}"}
        if endpoint == "symbols":
            request = session.get("/api/symbols")
        elif endpoint == "me":
            request = session.get("/api/auth/me", headers=headers)
        else:
            headers |= {"X-Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
            request = session.post("/api/orders", data=ORDER, headers=headers)
        async with request as response:
            await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1


async def measure(url: str, pid: int, seconds: float) -> None:
    async with AsyncExitStack() as stack:
        load = await bench.prepare(stack, [(url, pid)], CLIENTS)
        user0, system0 = user_and_system(pid)
        await asyncio.sleep(3)
        user1, system1 = user_and_system(pid)
        idle = (user1 - user0 + system1 - system0) / 3
        print(f"idle app: {idle:.1%} of a core")
        for endpoint in ("symbols", "me", "orders"):
            statuses: dict[int, int] = {}
            user0, system0 = user_and_system(pid)
            started = time.perf_counter()
            until = started + seconds
            await asyncio.gather(*(call(session, token, endpoint, until, statuses) for session, token in load.clients))
            elapsed = time.perf_counter() - started
            user1, system1 = user_and_system(pid)
            count = sum(statuses.values())
            per_request = (user1 - user0 + system1 - system0 - idle * elapsed) / count * 1000
            print(
                f"{endpoint:<8} {count / elapsed:6.0f}/s  app CPU {per_request:.3f} ms/request "
                f"(user {(user1 - user0) / count * 1000:.3f}, system {(system1 - system0) / count * 1000:.3f})  "
                f"answers {statuses}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured time of each endpoint")
    parser.add_argument("--access-log", choices=["on", "off"], default="on")
    args = parser.parse_args()
    log = Path("/tmp/sherwood-request-cpu.log")
    with bench.fresh_database() as database, bench.running_app(database, log, args.access_log == "on") as app:
        asyncio.run(measure(*app, args.seconds))
    for floor in ("bare", "one_route"):
        with running_floor(floor, args.access_log == "on") as (url, pid):
            asyncio.run(measure_floor(floor, url, pid, args.seconds))


@contextmanager
def running_floor(app: str, access_log: bool) -> Iterator[tuple[str, int]]:
    """uvicorn serving one of bench/http_floor.py's apps, as Sherwood is served (uvloop, httptools)."""
    port = bench.free_port()
    command = [sys.executable, "-m", "uvicorn", f"bench.http_floor:{app}", "--port", str(port)]
    command += ["--log-level", "info"] if access_log else ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=bench.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/api/orders", content=ORDER, headers={"Content-Type": "application/json"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit(f"uvicorn did not serve bench/http_floor.py:{app}")
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def measure_floor(app: str, url: str, pid: int, seconds: float) -> None:
    async with aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=CLIENTS)) as session:
        statuses: dict[int, int] = {}
        await asyncio.gather(*(call(session, "", "orders", time.perf_counter() + 1, {}) for _ in range(CLIENTS)))
        user0, system0 = user_and_system(pid)
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(call(session, "", "orders", until, statuses) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        user1, system1 = user_and_system(pid)
    count = sum(statuses.values())
    print(
        f"{app:<9} {count / elapsed:6.0f}/s  uvicorn CPU {(user1 - user0 + system1 - system0) / count * 1000:.3f} "
        f"ms/request (POST /api/orders, bench/http_floor.py)  answers {statuses}",
        flush=True,
    )


if __name__ == "__main__":
    main()
