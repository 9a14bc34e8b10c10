"""The CPU of one order placement in process, without HTTP: what the domain's own work costs.

    .venv/bin/python bench/placement_cpu.py [--orders 5000]

On a fresh PostgreSQL database with its own Redis keys (made as bench/orders_bench.py makes them), 32 users each
place small market buys back to back from 32 tasks on one event loop, in two ways:
- `place`: the rules and the money store alone (orders.place, the two round trips to PostgreSQL), on plain asyncio;
- `submit`: what the front doors call (orders.submit: the idempotency claim and answer in Redis, the store, the
  order event on the bus), on uvloop as the app runs, the placement quota off.
Prints each one's rate and CPU per order (the process's CPU time, so the database's and Redis's are not in it).
Set beside bench/request_cpu.py's POST /api/orders, the difference is what HTTP, FastAPI and the middleware cost.
"""

import argparse
import asyncio
import secrets
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import orders_bench as bench
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's modules, from the checkout

from models.order import OrderCreate
from models.types import utcnow
from services import runtime
from services.identity import auth
from services.infra import db
from services.trading import orders
from services.trading.rules import Market
from settings import load_settings
from tests.support.factories import quote

CLIENTS = 32
ORDER = OrderCreate.model_validate({"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "0.01"})
AAPL = quote("AAPL", "187.24", bid="187.23", ask="187.25")


async def measure(settings, users: list[uuid.UUID], count: int, how: str) -> None:
    """`count` placements by the users' traders, after a warm-up (connections, compiled statements)."""
    rt = runtime.start(settings)
    await rt.open()
    rt.hub.receive([AAPL])  # the feed is heard: market orders fill against this quote
    market = Market(AAPL, True, rt.clock)
    left = [CLIENTS * 4]

    async def trader(user_id: uuid.UUID) -> None:
        while left[0] > 0:
            left[0] -= 1
            key = uuid.uuid4().hex
            if how == "place":
                await orders.place(rt.store, user_id=user_id, key=key, request=ORDER, market=market, now=utcnow())
            else:
                placed = await orders.submit(rt, user_id=user_id, key=key, request=ORDER)
                assert placed.status == 201, placed

    try:
        await asyncio.gather(*(trader(user) for user in users))
        left[0] = count
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(trader(user) for user in users))
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
    finally:
        await rt.close()
    print(f"{how:<7} {count / elapsed:6.0f} orders/s  {cpu / count * 1000:.3f} ms of CPU per order", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="placements measured in each way")
    args = parser.parse_args()
    with bench.fresh_database() as url:
        # The quote stays live for the whole run, and no quota counts the orders.
        settings = load_settings(
            database_url=url, redis_url=bench.REDIS_URL, market_feed="none", order_rate_limit=0, quote_max_age=3600
        )
        with db.session_scope(runtime.start(settings).engine) as session:
            users = [
                auth.register(
                    session,
                    email=f"bench-{secrets.token_hex(6)}@example.com",
                    password="bench password 1",
                    display_name=None,
                    starting_cash=Decimal("1000000000"),
                ).id
                for _ in range(CLIENTS)
            ]
        asyncio.run(measure(settings, users, args.orders, "place"))
        uvloop.run(measure(settings, users, args.orders, "submit"))


if __name__ == "__main__":
    main()
