"""The leaderboard of one league of 300 members while they trade and 50 viewers watch it.

    .venv/bin/python bench/league_bench.py [--members 300] [--viewers 50] [--seconds 30]

In one process on a fresh PostgreSQL database plus Redis (the production backends): the members join a league
and hold a few positions; then for the given time every member keeps placing small market buys through the money
store while every viewer reads the league's board each second, as an open league page does. The board is computed
once per league per REFRESH seconds whoever reads it; the bench prints what one computation costs (CPU ms in its
worker thread, and wall ms), how many there were against how many reads, and how old the board a viewer got was
(p50 / p95: how long a change takes to reach a viewer), beside the placement rate it ran against. The database and
its Redis keys are dropped at the end.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.league import League, LeagueCreate
from models.market import Quote
from models.order import OrderCreate
from models.types import utcnow
from services import runtime
from services.identity import auth
from services.infra.db import session_scope
from services.leagues import leagues, standings
from services.market.clock import clock_for
from services.trading import orders, rules
from settings import load_settings

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN")


def quote(symbol: str, price: str) -> Quote:
    last = Decimal(price)
    stamp = time.time_ns() // 1_000_000
    return Quote(
        symbol=symbol,
        bid=last,
        ask=last + Decimal("0.02"),
        last=last,
        volume=1,
        timestamp=stamp,
        change=Decimal(0),
        change_percent=Decimal(0),
        prev_close=last,
    )


class Measured(standings.Leaderboards):
    """The app's leaderboards, with each computation's cost noted."""

    def __init__(self):
        super().__init__()
        self.cpu_ms: list[float] = []
        self.wall_ms: list[float] = []

    def _compute(self, engine, league_id, quotes):
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return super()._compute(engine, league_id, quotes)
        finally:
            self.cpu_ms.append((time.thread_time() - cpu) * 1000)
            self.wall_ms.append((time.perf_counter() - wall) * 1000)


async def run(rt: runtime.Runtime, members: int, viewers: int, seconds: float) -> None:
    now = utcnow()
    prices = {s: quote(s, p) for s, p in zip(SYMBOLS, ("270.00", "480.00", "180.00", "390.00", "230.00"), strict=True)}
    rt.hub.latest.update(prices)
    board = rt.leaderboards = Measured()

    def organise():
        with session_scope(rt.engine) as db:
            owner = auth.register(
                db,
                email="teacher@bench.test",
                password="bench pass 1",
                display_name="Teacher",
                starting_cash=Decimal(100000),
            )
            wanted = LeagueCreate(name="Bench", starts_at=now, ends_at=now + timedelta(days=1))
            league = leagues.create(db, owner_id=owner.id, wanted=wanted, default_cash=Decimal(100000), now=now)
            players = []
            for n in range(members):
                user = auth.register(
                    db,
                    email=f"s{n}@bench.test",
                    password="bench pass 1",
                    display_name=f"S{n}",
                    starting_cash=Decimal(100000),
                )
                _, account = leagues.join(db, user_id=user.id, code=league.invite_code, quotes=prices, now=now)
                players.append((user.id, account.id))
            return owner.id, league, players

    print(f"organising a league of {members} members ...", flush=True)
    owner_id, league, players = await asyncio.to_thread(organise)
    clock = clock_for("always")

    async def buy(user_id, account_id, symbol) -> None:
        market = rules.Market(prices[symbol], True, clock)
        wanted = OrderCreate(symbol=symbol, side="buy", order_type="market", quantity=Decimal("0.1"))
        await orders.place(
            rt.store,
            user_id=user_id,
            account_id=account_id,
            key=secrets.token_hex(8),
            request=wanted,
            market=market,
            now=utcnow(),
        )

    for user_id, account_id in players:  # a few positions each, so valuing them is real work
        for symbol in SYMBOLS[:3]:
            await buy(user_id, account_id, symbol)
    with session_scope(rt.engine) as db:
        table = db.get(League, league.id)
    stop = time.monotonic() + seconds
    placed, ages, reads = 0, [], 0

    async def member(user_id, account_id, n) -> None:
        nonlocal placed
        while time.monotonic() < stop:
            await buy(user_id, account_id, SYMBOLS[n % len(SYMBOLS)])
            placed += 1
            await asyncio.sleep(1.0)

    async def viewer() -> None:
        nonlocal reads
        while time.monotonic() < stop:
            seen = await board.board(rt.engine, table, rt.hub.latest)
            ages.append((datetime.now(UTC) - seen.as_of).total_seconds() * 1000)
            seen.for_viewer(owner_id)
            reads += 1
            await asyncio.sleep(1.0)

    print(f"{members} members trading, {viewers} viewers reading, for {seconds:.0f} s ...", flush=True)
    await asyncio.gather(*(member(u, a, n) for n, (u, a) in enumerate(players)), *(viewer() for _ in range(viewers)))
    cpu = sorted(board.cpu_ms)
    print(f"placements: {placed} ({placed / seconds:.0f}/s)")
    print(f"board computations: {len(cpu)} for {reads} viewer reads")
    print(
        f"one computation: CPU {statistics.median(cpu):.1f} ms median, {max(cpu):.1f} ms max; "
        f"wall {statistics.median(board.wall_ms):.1f} ms median"
    )
    ages.sort()
    print(f"age of the board a viewer got: p50 {ages[len(ages) // 2]:.0f} ms, p95 {ages[int(len(ages) * 0.95)]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    name = f"sherwood_leaguebench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    settings = load_settings(database_url=f"{base}/{name}", redis_url=REDIS_URL, market_feed="none", order_rate_limit=0)
    rt = runtime.start(settings)

    async def go():
        await rt.open()
        try:
            await run(rt, args.members, args.viewers, args.seconds)
        finally:
            await rt.close()

    try:
        asyncio.run(go())
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=settings.redis_namespace() + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    main()
