"""The end of a league, run by the league clock on exactly one instance (a leader lock, like the execution engine).

A few seconds after `endsAt` (so the minute candle ending then has been stored by the feed) every league account
has its resting orders canceled and every position sold at the close of the last minute candle ending at or before
`endsAt`, through the accounts service (the rules and the store). Then the final standings are frozen on the league,
once: a write that only lands while none is there. Each step can run again with no effect (a settled account has
nothing left to settle), so a restart or a failover in the middle finishes the job with the same numbers.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from anyio import to_thread
from sqlalchemy import update
from sqlmodel import Session, select

from models.account import Account
from models.candle import MINUTE
from models.league import League, LeagueMember
from models.order import Order, OrderStatus
from models.types import utcnow
from services.infra.db import session_scope
from services.infra.leader import RENEW_EVERY, Leadership, lead_forever
from services.leagues import standings
from services.market import history
from services.trading import accounts

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

log = logging.getLogger(__name__)

SETTLE_AFTER = timedelta(seconds=4)  # the feed stores finished minute candles every 2 s
TICK = 1.0  # seconds between looks at the clock
MINUTE_CANDLE = timedelta(minutes=1)


def due(db: Session, now: datetime) -> list[uuid.UUID]:
    """Leagues past their end (by SETTLE_AFTER) whose standings are not final yet."""
    query = select(League.id).where(League.ends_at <= now - SETTLE_AFTER, League.settled_at.is_(None))
    return list(db.exec(query.order_by(League.ends_at)))


def resting_after_the_end(db: Session, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(user, account) of league accounts with resting orders in leagues that have ended but are not settled."""
    query = (
        select(Account.user_id, Account.id)
        .join(League, League.id == Account.league_id)
        .join(Order, Order.account_id == Account.id)
        .where(League.ends_at <= now, League.settled_at.is_(None), Order.status == OrderStatus.PENDING)
        .distinct()
    )
    return list(db.exec(query).all())


def settlement_prices(db: Session, ends_at: datetime) -> dict[str, Decimal]:
    """Each symbol's close of its last minute candle ending at or before `ends_at` (so starting at or before
    `ends_at` less a minute): what any instance reads the same, whenever it settles."""
    return history.latest_closes(db, MINUTE, before=ends_at - MINUTE_CANDLE + timedelta(microseconds=1))


def _books_to_settle(db: Session, league_id: uuid.UUID):
    """The league, its settlement prices and its open accounts (of members still in it)."""
    league = db.get(League, league_id)
    members = db.exec(
        select(LeagueMember.user_id, LeagueMember.account_id)
        .join(Account, Account.id == LeagueMember.account_id)
        .where(LeagueMember.league_id == league_id, Account.closed_at.is_(None))
        .order_by(LeagueMember.number)
    ).all()
    return league, settlement_prices(db, league.ends_at), list(members)


def _freeze(db: Session, league: League, now: datetime) -> bool:
    """Write the final standings unless some run already did; whether this one did."""
    entries = standings.compute(db, league, {}, now, {})  # all cash: no price is needed
    done = db.execute(
        update(League)
        .where(League.id == league.id, League.settled_at.is_(None))
        .values(settled_at=now, final_standings=standings.frozen(entries), updated_at=now)
    )
    db.commit()
    return done.rowcount == 1


async def settle(rt: "Runtime", league_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """End one league: every account settled, then the standings frozen. Whether this call froze them."""
    now = now or utcnow()

    def read():
        with session_scope(rt.engine) as db:
            return _books_to_settle(db, league_id)

    league, prices, members = await to_thread.run_sync(read)
    if league is None or league.settled_at is not None:
        return False
    for user_id, account_id in members:
        canceled = await accounts.settle(rt.store, user_id=user_id, account_id=account_id, prices=prices, now=now)
        await accounts.announce_canceled(rt.bus, user_id, canceled)

    def freeze() -> bool:
        with session_scope(rt.engine) as db:
            return _freeze(db, db.get(League, league_id), now)

    frozen = await to_thread.run_sync(freeze)
    rt.leaderboards.forget(league_id)
    if frozen:
        log.info("league %s ended: %d accounts settled, standings final", league_id, len(members))
    return frozen


class LeagueClock:
    """Leads on one instance: ends every league that is due, within seconds of its end."""

    def __init__(self, rt: "Runtime", leadership: Leadership, *, now: Callable[[], datetime] = utcnow):
        self._rt, self._leadership, self._now = rt, leadership, now

    async def run(self) -> None:
        await lead_forever(self._leadership, "league_clock", self._lead, held=self._rt.roles)

    async def settle_due(self) -> int:
        """End the leagues that are due now; how many this call froze."""

        def find() -> list[uuid.UUID]:
            with session_scope(self._rt.engine) as db:
                return due(db, self._now())

        await self._ring_the_bell()
        frozen = 0
        for league_id in await to_thread.run_sync(find):
            try:
                frozen += await settle(self._rt, league_id, now=self._now())
            except Exception:
                log.exception("settling league %s failed; it is tried again", league_id)
        return frozen

    async def _ring_the_bell(self) -> None:
        """Cancel the resting orders of leagues that have just ended, at once: nothing fills while the minute
        candle the settlement needs is being stored."""

        def ringing() -> list[tuple[uuid.UUID, uuid.UUID]]:
            with session_scope(self._rt.engine) as db:
                return resting_after_the_end(db, self._now())

        for user_id, account_id in await to_thread.run_sync(ringing):
            try:
                canceled = await accounts.cancel_resting(
                    self._rt.store, user_id=user_id, account_id=account_id, now=self._now()
                )
            except Exception:
                log.exception("canceling the resting orders of league account %s failed", account_id)
                continue
            await accounts.announce_canceled(self._rt.bus, user_id, canceled)

    async def _lead(self) -> None:
        renew_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() >= renew_at:
                if not await self._leadership.renew():
                    log.warning("lost the league clock lock; another instance ends leagues now")
                    return
                renew_at = loop.time() + RENEW_EVERY
            await self.settle_due()
            await asyncio.sleep(TICK)
