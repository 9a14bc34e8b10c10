"""The league rules at placement: services.trading.orders asks this, inside the placement's transaction (the account
row already locked), before it places an order in a league account; the order form reads the same limits to judge
an order before sending it. Reads the league, the account's positions and the symbol's resting buys in one batch;
the checks are services.leagues.rules."""

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, func, select, type_coerce
from sqlmodel import Session

from models.account import Account, Position
from models.league import League
from models.market import Quote
from models.order import Order, OrderCreate, OrderStatus, Side
from models.types import Money
from services.infra.errors import DomainError
from services.leagues import rules
from services.trading import rules as trading_rules
from services.trading.store import Transaction

_LEAGUE = League.__table__
_POSITIONS, _ORDERS = Position.__table__, Order.__table__
_READ_LEAGUE = select(*_LEAGUE.columns).where(_LEAGUE.c.id == bindparam("league"))
_READ_POSITIONS = select(*_POSITIONS.columns).where(
    (_POSITIONS.c.account_id == bindparam("account")) & (_POSITIONS.c.quantity > 0)
)
_RESTING_BUYS = select(type_coerce(func.coalesce(func.sum(_ORDERS.c.reserved_cash), 0), Money())).where(
    (_ORDERS.c.account_id == bindparam("account"))
    & (_ORDERS.c.symbol == bindparam("ticker"))
    & (_ORDERS.c.side == Side.BUY)
    & (_ORDERS.c.status == OrderStatus.PENDING)
    & (_ORDERS.c.id != bindparam("replacing"))
)
_NO_ORDER = uuid.UUID(int=0)  # what a new placement "replaces": no order has this id


class LeagueRules:
    """What a league account may place, valued at this process's latest quotes."""

    def __init__(self, quotes: Mapping[str, Quote]):
        self._quotes = quotes

    async def __call__(
        self,
        tx: Transaction,
        account: Account,
        wanted: OrderCreate,
        market: trading_rules.Market,
        now: datetime,
        replacing: uuid.UUID | None,
    ) -> None:
        """Refuse what the league forbids; a replacement is judged without the order it replaces."""
        read = await tx.read(_reads(account, wanted.symbol, replacing))
        _limits(account, wanted.symbol, *read, self._quotes).refuse(wanted, market.quote, now)


def limits(db: Session, account_id: uuid.UUID, symbol: str, quotes: Mapping[str, Quote]) -> rules.Limits | None:
    """What the order form judges a league account's next order in `symbol` against (None: not a league account,
    or one whose league is gone, which the server refuses anyway)."""
    account = db.get(Account, account_id)
    if account is None or account.league_id is None:
        return None
    read = [db.execute(statement, values).all() for statement, values in _reads(account, symbol, None)]
    try:
        return _limits(account, symbol, *read, quotes)
    except DomainError:
        return None


def _reads(account: Account, symbol: str, replacing: uuid.UUID | None) -> list:
    return [
        (_READ_LEAGUE, {"league": account.league_id}),
        (_READ_POSITIONS, {"account": account.id}),
        (_RESTING_BUYS, {"account": account.id, "ticker": symbol, "replacing": replacing or _NO_ORDER}),
    ]


def _limits(account: Account, symbol: str, leagues, positions, resting, quotes: Mapping[str, Quote]) -> rules.Limits:
    league = League(**dict(zip(_LEAGUE.columns.keys(), leagues[0], strict=True))) if leagues else None
    if league is None:  # a deleted league's accounts are closed; this one is on its way
        raise rules.not_running()
    held = [Position(**dict(zip(_POSITIONS.columns.keys(), row, strict=True))) for row in positions]
    return rules.Limits(
        league=league,
        equity=rules.equity(account.cash, held, quotes),
        position=next((p for p in held if p.symbol == symbol), None),
        resting_buys=resting[0][0] or 0,
    )
