"""One order told in full, read only: its fields, its fills (from the cash ledger) and its status history as far
as the order's own timestamps hold it (placed, stop triggered, then filled, canceled, expired or rejected)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from models.account import LedgerEntry
from models.order import Order, OrderPublic, OrderStatus
from services.infra.errors import DomainError

# What the order's last change was, by the status it left it in.
ENDED = {
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Canceled",
    OrderStatus.EXPIRED: "Expired",
    OrderStatus.REJECTED: "Rejected",
}


@dataclass(frozen=True)
class Fill:
    at: datetime
    quantity: Decimal
    price: Decimal
    cash: Decimal  # what the fill paid (a buy) or raised (a sale), to the cent


@dataclass(frozen=True)
class Step:
    what: str
    at: datetime


@dataclass(frozen=True)
class OrderDetail:
    order: OrderPublic
    triggered_at: datetime | None
    fills: list[Fill]
    history: list[Step]


def _history(order: Order) -> list[Step]:
    steps = [Step("Placed", order.created_at)]
    if order.triggered_at is not None:
        steps.append(Step("Stop triggered", order.triggered_at))
    ended = ENDED.get(OrderStatus(order.status))
    if ended is not None:
        steps.append(Step(ended, order.filled_at or order.updated_at))
    return steps


def detail(db: Session, *, account_id: uuid.UUID, order_id: uuid.UUID) -> OrderDetail:
    order = db.exec(select(Order).where(Order.id == order_id, Order.account_id == account_id)).first()
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    entries = db.exec(
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.order_id == order_id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    # An order fills whole, once: its ledger entry is the fill's time and cash, the order its shares and price.
    fills = [Fill(e.created_at, order.filled_quantity, order.avg_fill_price, abs(e.amount)) for e in entries]
    return OrderDetail(OrderPublic.of(order), order.triggered_at, fills, _history(order))


def recent_fills(db: Session, *, account_id: uuid.UUID, limit: int) -> list[OrderPublic]:
    """The account's filled orders, the latest fill first (a limit placed last week that filled today leads)."""
    query = select(Order).where(Order.account_id == account_id, Order.status == OrderStatus.FILLED)
    rows = db.exec(query.order_by(Order.filled_at.desc(), Order.id.desc()).limit(limit))
    return [OrderPublic.of(order) for order in rows]
