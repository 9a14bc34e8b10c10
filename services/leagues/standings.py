"""Standings: every member of a league valued from one read of the books and one snapshot of prices, ranked by
equity with standard competition ranking (1, 1, 3).

A leaderboard is computed once per league per REFRESH seconds, whoever asks and however many ask (viewers share
it; only `isMe` is theirs), and once the league is settled its frozen standings are served as they are.
"""

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from anyio import to_thread
from sqlalchemy import Engine, func, select

from models.account import Account, Position
from models.league import League, LeagueMember
from models.market import Quote
from models.order import Order, cents_text
from models.types import utcnow
from models.user import CamelModel, User
from services.infra.db import session_scope
from services.leagues import race as league_race
from services.market.clock import NEW_YORK
from services.trading import portfolio

REFRESH = 5.0  # seconds a computed leaderboard is served before the next viewer's call computes it again
RACE_REFRESH = 60.0  # seconds a computed race is served (equity snapshots come once a minute)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Entry:
    """One member's line, before it is shown to anyone."""

    user_id: uuid.UUID
    account_id: uuid.UUID
    number: int
    display_name: str
    email: str
    joined_at: datetime
    equity: Decimal
    return_percent: Decimal
    day_change_percent: Decimal
    trades: int
    rank: int = 0


def display_name(user_display_name: str, email: str, number: int) -> str:
    """What the standings call a member: their chosen name, else "Player N" (a name that is only their email's
    local part, which sign-up fills in when none is given, is not shown: the standings never show emails)."""
    name = (user_display_name or "").strip()
    if not name or name.lower() == email.split("@")[0].lower():
        return f"Player {number}"
    return name


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(CENT, rounding=ROUND_HALF_UP) if whole else Decimal("0.00")


def rank(entries: list[Entry]) -> list[Entry]:
    """Highest equity first; equal equity shares a rank and the next rank skips (1, 1, 3)."""
    ordered = sorted(entries, key=lambda e: (-e.equity, e.number))
    ranked, place = [], 0
    for index, entry in enumerate(ordered):
        if index == 0 or entry.equity != ordered[index - 1].equity:
            place = index + 1
        ranked.append(_with(entry, rank=place))
    return ranked


def _with(entry: Entry, **changes) -> Entry:
    return Entry(**{**entry.__dict__, **changes})


_TRADES = (
    select(func.count())
    .where(Order.account_id == Account.id, Order.filled_at.is_not(None))
    .correlate(Account)
    .scalar_subquery()
)


def _books(db, league_id: uuid.UUID):
    """The active members with their account, positions and number of fills: one statement, so every member's
    books come from the same moment."""
    query = (
        select(
            LeagueMember.user_id,
            LeagueMember.account_id,
            LeagueMember.number,
            LeagueMember.joined_at,
            User.display_name,
            User.email,
            Account.cash,
            Account.reserved_cash,
            Account.starting_cash,
            _TRADES.label("trades"),
            Position.symbol,
            Position.quantity,
            Position.cost_basis,
        )
        .join(Account, Account.id == LeagueMember.account_id)
        .join(User, User.id == LeagueMember.user_id)
        .outerjoin(Position, (Position.account_id == Account.id) & (Position.quantity > 0))
        .where(
            LeagueMember.league_id == league_id,
            LeagueMember.left_at.is_(None),
            LeagueMember.removed_at.is_(None),
            Account.closed_at.is_(None),
        )
    )
    return db.exec(query).all()


def compute(db, league: League, quotes: Mapping[str, Quote], now: datetime, day_open: dict) -> list[Entry]:
    """The ranked standings now, valued at `quotes` (a snapshot: the caller copies the live map once).
    `day_open` caches each account's equity at the start of today (it does not change during the day)."""
    members: dict[uuid.UUID, dict] = {}
    for row in _books(db, league.id):
        member = members.setdefault(row.account_id, {"row": row, "positions": []})
        if row.symbol is not None:
            member["positions"].append(
                Position(account_id=row.account_id, symbol=row.symbol, quantity=row.quantity, cost_basis=row.cost_basis)
            )
    entries = []
    day_start = portfolio.day_start(now)
    for account_id, member in members.items():
        row = member["row"]
        if account_id not in day_open:  # equity_at reads only the account's id and starting cash
            account = Account(id=account_id, user_id=row.user_id, name="", starting_cash=row.starting_cash, cash=0)
            day_open[account_id] = portfolio.equity_at(db, account, day_start)
        book = portfolio.Book(
            cash=row.cash, reserved_cash=row.reserved_cash, positions=member["positions"], day_open=day_open[account_id]
        )
        valued = portfolio.appraise(book, quotes)
        entries.append(
            Entry(
                user_id=row.user_id,
                account_id=account_id,
                number=row.number,
                display_name=display_name(row.display_name, row.email, row.number),
                email=row.email,
                joined_at=row.joined_at,
                equity=valued.equity,
                return_percent=_percent(valued.equity - row.starting_cash, row.starting_cash),
                day_change_percent=valued.day_change_percent,
                trades=row.trades,
            )
        )
    return rank(entries)


# -- what viewers see ----------------------------------------------------------------------------------------------


class Standing(CamelModel):
    rank: int
    display_name: str
    equity: str
    return_percent: str
    day_change_percent: str
    trades: int
    is_me: bool


class Leaderboard(CamelModel):
    league_id: uuid.UUID
    as_of: datetime
    final: bool
    standings: list[Standing]


def frozen(entries: list[Entry]) -> list[dict]:
    """Final standings as stored on the league (JSON), user ids kept for `isMe`."""
    return [
        {
            "userId": str(e.user_id),
            "rank": e.rank,
            "displayName": e.display_name,
            "equity": cents_text(e.equity),
            "returnPercent": cents_text(e.return_percent),
            "dayChangePercent": cents_text(e.day_change_percent),
            "trades": e.trades,
        }
        for e in entries
    ]


@dataclass(frozen=True)
class Board:
    """A computed leaderboard, shared by every viewer until it is refreshed."""

    league_id: uuid.UUID
    as_of: datetime
    final: bool
    lines: list[dict]  # as `frozen` writes them
    entries: list[Entry]  # empty once final (the stored lines are the truth then)

    def for_viewer(self, viewer_id: uuid.UUID) -> Leaderboard:
        me = str(viewer_id)
        standings = [
            Standing(**{k: v for k, v in line.items() if k != "userId"}, is_me=line["userId"] == me)
            for line in self.lines
        ]
        return Leaderboard(league_id=self.league_id, as_of=self.as_of, final=self.final, standings=standings)


class Leaderboards:
    """Each league's board, computed at most once per REFRESH seconds in this process (a viewer arriving while
    it is computed waits for that computation instead of starting another)."""

    def __init__(self, *, refresh: float = REFRESH):
        self._refresh = refresh
        self._boards: dict[uuid.UUID, tuple[float, Board]] = {}
        # (when, from which board, the runners)
        self._races: dict[uuid.UUID, tuple[float, Board, list[league_race.Runner]]] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._day_open: dict[tuple[uuid.UUID, date], dict] = {}
        self.computed = 0  # how many times a board was computed (the tests and the bench read it)

    async def board(self, engine: Engine, league: League, quotes: Mapping[str, Quote]) -> Board:
        lock = self._locks.setdefault(league.id, asyncio.Lock())
        async with lock:
            cached = self._boards.get(league.id)
            if cached is not None and (cached[1].final or time.monotonic() - cached[0] < self._refresh):
                return cached[1]
            board = await to_thread.run_sync(self._compute, engine, league.id, dict(quotes))
            self._boards[league.id] = (time.monotonic(), board)
            self.computed += 1
            return board

    async def race(self, engine: Engine, league: League, quotes: Mapping[str, Quote]) -> list[league_race.Runner]:
        """The league's race (services.leagues.race) at most once per RACE_REFRESH seconds in this process: the
        snapshots it draws come once a minute."""
        board = await self.board(engine, league, quotes)
        async with self._locks[league.id]:
            cached = self._races.get(league.id)
            # A final board never changes, nor does its race.
            if cached is not None and (cached[1] is board or time.monotonic() - cached[0] < RACE_REFRESH):
                return cached[2]
            runners = await to_thread.run_sync(self._race, engine, league.id, board)
            self._races[league.id] = (time.monotonic(), board, runners)
            return runners

    def forget(self, league_id: uuid.UUID) -> None:
        """The next call computes afresh (a member joined, left or was removed; the league settled)."""
        self._boards.pop(league_id, None)
        self._races.pop(league_id, None)

    def _race(self, engine: Engine, league_id: uuid.UUID, board: Board) -> list[league_race.Runner]:
        with session_scope(engine) as db:
            league = db.get(League, league_id)
            return league_race.race(db, league, board) if league is not None else []

    def _compute(self, engine: Engine, league_id: uuid.UUID, quotes: dict[str, Quote]) -> Board:
        now = utcnow()
        with session_scope(engine) as db:
            league = db.get(League, league_id)
            if league is None:
                return Board(league_id, now, False, [], [])
            if league.final_standings is not None:
                return Board(league.id, league.settled_at, True, league.final_standings, [])
            today = (league.id, now.astimezone(NEW_YORK).date())
            if today not in self._day_open:
                self._day_open = {k: v for k, v in self._day_open.items() if k[0] != league.id}
                self._day_open[today] = {}
            entries = compute(db, league, quotes, now, self._day_open[today])
            return Board(league.id, now, False, frozen(entries), entries)
