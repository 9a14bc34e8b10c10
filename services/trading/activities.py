"""An account's activities in time order: its fills (from its filled orders) and its cash movements that are no
trade (the opening deposit, resets), for broker APIs' activity feeds (the Alpaca surface's account activities)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from models.account import LedgerEntry, LedgerKind
from models.order import Order, OrderPublic, OrderStatus

CASH_KINDS = (LedgerKind.DEPOSIT, LedgerKind.RESET)  # buys and sells are told by their fills


@dataclass(frozen=True)
class Activity:
    at: datetime
    key: str  # unique and ordered within one instant: "<order id>" or "ledger:<entry id>"
    fill: OrderPublic | None = None
    cash_kind: str | None = None  # a LedgerKind, for a cash movement
    amount: Decimal | None = None


def activities(
    db: Session,
    *,
    account_id: uuid.UUID,
    fills: bool,
    cash: bool,
    after: datetime | None,
    until: datetime | None,
    oldest_first: bool,
    limit: int,
) -> list[Activity]:
    """At most `limit` activities strictly between `after` and `until`, in time order (then by key)."""
    found: list[Activity] = []
    if fills:
        query = select(Order).where(Order.account_id == account_id, Order.status == OrderStatus.FILLED)
        query = _window(query, Order.filled_at, after, until, oldest_first).limit(limit)
        found += [Activity(o.filled_at, str(o.id), fill=OrderPublic.of(o)) for o in db.exec(query)]
    if cash:
        query = select(LedgerEntry).where(LedgerEntry.account_id == account_id, LedgerEntry.kind.in_(CASH_KINDS))
        query = _window(query, LedgerEntry.created_at, after, until, oldest_first).limit(limit)
        found += [Activity(e.created_at, f"ledger:{e.id}", cash_kind=e.kind, amount=e.amount) for e in db.exec(query)]
    found.sort(key=lambda a: (a.at, a.key), reverse=not oldest_first)
    return found[:limit]


def _window(query, column, after: datetime | None, until: datetime | None, oldest_first: bool):
    if after is not None:
        query = query.where(column > after)
    if until is not None:
        query = query.where(column < until)
    return query.order_by(column.asc() if oldest_first else column.desc())
