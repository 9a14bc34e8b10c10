"""An account's portfolio valued at the latest quotes, and its equity over time."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel
from sqlmodel import Session, select

from models.account import Account, LedgerEntry, LedgerKind, Position
from models.market import Quote
from models.order import DecimalText, MoneyText, Order, PriceText, Side
from models.portfolio import EquitySnapshot
from models.types import utcnow
from models.user import CamelModel
from services.market.clock import NEW_YORK, midnight
from services.trading.rules import CENT

HISTORY_LOOKBACK = {
    "1D": None,  # today: from the start of the day (see day_start)
    "1W": timedelta(days=7),
    "1M": timedelta(days=31),
    "3M": timedelta(days=92),
    "1Y": timedelta(days=366),
    "ALL": None,
}


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(CENT, rounding=ROUND_HALF_UP) if whole else Decimal("0.00")


class PositionValue(CamelModel):
    symbol: str
    quantity: DecimalText
    avg_cost: PriceText
    last_price: PriceText | None
    market_value: MoneyText
    unrealized_pnl: MoneyText
    unrealized_pnl_percent: MoneyText
    day_change: MoneyText
    day_change_percent: MoneyText
    portfolio_percent: MoneyText  # of the account's equity


class Portfolio(CamelModel):
    cash: MoneyText
    buying_power: MoneyText
    equity: MoneyText
    market_value: MoneyText
    day_change: MoneyText
    day_change_percent: MoneyText
    realized_pnl: MoneyText
    positions: list[PositionValue]


class Traded(BaseModel):
    """What an account bought of a symbol today, net of what it sold: shares, and the cash they cost."""

    shares: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)


def _value(position: Position, quote: Quote | None, today: Traded | None = None) -> PositionValue:
    # Without a quote yet, a position is carried at cost rather than at zero.
    price = quote.last if quote else None
    avg_cost = (position.cost_basis / position.quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    market_value = (position.quantity * price).quantize(CENT, rounding=ROUND_HALF_UP) if price else position.cost_basis
    pnl = market_value - position.cost_basis
    day_change = _day_change(position, quote, market_value, today or Traded())
    return PositionValue(
        symbol=position.symbol,
        quantity=position.quantity,
        avg_cost=avg_cost,
        last_price=price,
        market_value=market_value,
        unrealized_pnl=pnl,
        unrealized_pnl_percent=_percent(pnl, position.cost_basis),
        day_change=day_change,
        day_change_percent=_percent(day_change, market_value - day_change),
        portfolio_percent=Decimal("0.00"),  # known once the whole book is valued (appraise)
    )


def _day_change(position: Position, quote: Quote | None, market_value: Decimal, today: Traded) -> Decimal:
    """The account's day change rule for one position: its value now less its value at the start of the day
    (the shares then held, at the previous close) and less what was paid today for shares since bought, so
    shares bought today count from their cost."""
    if quote is None:
        return Decimal("0.00")
    held_at_start = position.quantity - today.shares
    start = held_at_start * quote.prev_close + today.cost
    return (market_value - start).quantize(CENT, rounding=ROUND_HALF_UP)


class Book(BaseModel):
    """What an account owns, as stored: appraised again at every new price without going back to the database."""

    cash: Decimal
    reserved_cash: Decimal
    positions: list[Position]
    day_open: Decimal | None = None  # equity at the start of the day, when known
    today: dict[str, Traded] = {}  # symbol -> what was traded in it since the start of the day


def day_start(now: datetime) -> datetime:
    """Where "today" begins for the day's change: midnight in New York (before any session of the day)."""
    return midnight(now.astimezone(NEW_YORK).date())


def _opened(db: Session, account_id: uuid.UUID) -> datetime | None:
    """When the account began its present history: its opening deposit or its last reset."""
    return db.exec(
        select(LedgerEntry.created_at)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.kind.in_([LedgerKind.DEPOSIT, LedgerKind.RESET]))
        .order_by(LedgerEntry.id.desc())
    ).first()


def equity_at(db: Session, account: Account, moment: datetime) -> Decimal | None:
    """The account's equity at `moment`: its starting cash if it opened (or was reset) after, else the last
    snapshot at or before it; None when nothing was recorded."""
    opened = _opened(db, account.id)
    if opened is not None and opened >= moment:
        return account.starting_cash
    query = select(EquitySnapshot.equity).where(EquitySnapshot.account_id == account.id, EquitySnapshot.t <= moment)
    return db.exec(query.order_by(EquitySnapshot.t.desc())).first()


def _traded_since(db: Session, account_id: uuid.UUID, since: datetime) -> dict[str, Traded]:
    """Per symbol, the shares bought less sold since `since` (after the account's opening or last reset), and the
    cash paid for them less the cash received."""
    opened = _opened(db, account_id)
    since = max(since, opened) if opened is not None else since
    fills = db.exec(
        select(Order.symbol, Order.side, Order.filled_quantity, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.order_id == Order.id)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.kind.in_([LedgerKind.BUY, LedgerKind.SELL]),
            LedgerEntry.created_at >= since,
        )
    )
    traded: dict[str, Traded] = {}
    for symbol, side, shares, amount in fills:
        so_far = traded.setdefault(symbol, Traded())
        so_far.shares += shares if side == Side.BUY else -shares
        so_far.cost -= amount  # a buy's entry takes cash out (negative), a sell's brings it in
    return traded


def load(db: Session, account_id: uuid.UUID, *, now: datetime | None = None) -> Book:
    account = db.get(Account, account_id)
    held = db.exec(select(Position).where(Position.account_id == account_id).order_by(Position.symbol)).all()
    start = day_start(now or utcnow())
    return Book(
        cash=account.cash,
        reserved_cash=account.reserved_cash,
        positions=list(held),
        day_open=equity_at(db, account, start),
        today=_traded_since(db, account_id, start),
    )


def appraise(book: Book, quotes: Mapping[str, Quote]) -> Portfolio:
    """Cash, buying power and positions valued at the latest quotes.

    The day's change is equity now less equity at the start of the day (so shares bought today count from what
    they cost); before the first record of the day's start, the sum of the positions' day changes, which follow
    the same rule per position (_day_change).
    """
    positions = [_value(p, quotes.get(p.symbol), book.today.get(p.symbol)) for p in book.positions if p.quantity > 0]
    market_value = sum((p.market_value for p in positions), Decimal("0.00"))
    equity = book.cash + market_value
    for p in positions:
        p.portfolio_percent = _percent(p.market_value, equity)
    if book.day_open is not None:
        day_change = equity - book.day_open
    else:
        day_change = sum((p.day_change for p in positions), Decimal("0.00"))
    return Portfolio(
        cash=book.cash,
        buying_power=book.cash - book.reserved_cash,
        equity=equity,
        market_value=market_value,
        day_change=day_change,
        day_change_percent=_percent(day_change, equity - day_change),
        realized_pnl=sum((p.realized_pnl for p in book.positions), Decimal("0.00")),
        positions=positions,
    )


def value(db: Session, account_id: uuid.UUID, quotes: Mapping[str, Quote]) -> Portfolio:
    return appraise(load(db, account_id), quotes)


class EquityPoint(BaseModel):
    t: datetime
    equity: MoneyText


def history(
    db: Session, account_id: uuid.UUID, range_name: str, *, now: datetime, current: Decimal
) -> list[EquityPoint]:
    """Recorded equity over the range, to this moment; an account opened (or reset) within the range starts from
    its starting cash at that moment, and nothing from before a reset is shown. 1D is today: it starts from the
    equity at the start of the day, as the day's change does, so the chart and the headline agree."""
    if range_name == "1D":
        since = day_start(now)
    else:
        lookback = HISTORY_LOOKBACK[range_name]
        since = now - lookback if lookback is not None else None
    account = db.get(Account, account_id)
    opening = _opened(db, account_id)
    start = max(t for t in (since, opening) if t is not None) if since or opening else None
    query = select(EquitySnapshot).where(EquitySnapshot.account_id == account_id)
    if start is not None:
        query = query.where(EquitySnapshot.t > start)
    points = [EquityPoint(t=s.t, equity=s.equity) for s in db.exec(query.order_by(EquitySnapshot.t))]
    first = equity_at(db, account, start) if start is not None else None
    if first is not None:
        points.insert(0, EquityPoint(t=start, equity=first))
    return [*points, EquityPoint(t=now, equity=current)]


def record_snapshots(db: Session, quotes: Mapping[str, Quote], now: datetime) -> int:
    """Write every open account's equity at these quotes (the execution leader does this every minute)."""
    accounts = db.exec(select(Account).where(Account.closed_at.is_(None))).all()
    positions: dict[uuid.UUID, list[Position]] = {}
    for position in db.exec(select(Position).where(Position.quantity > 0)):
        positions.setdefault(position.account_id, []).append(position)
    for account in accounts:
        held = positions.get(account.id, [])
        market_value = sum((_value(p, quotes.get(p.symbol)).market_value for p in held), Decimal("0.00"))
        db.add(EquitySnapshot(account_id=account.id, t=now, equity=account.cash + market_value))
    db.commit()
    return len(accounts)
