"""Finding an account's orders the way a broker API's clients ask: open or closed, a time window, a side, some
symbols, oldest or newest first (the Alpaca surface's `GET /v2/orders`)."""

import uuid
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, exists, select

from models.order import Order, OrderPublic, OrderStatus
from services.trading import orders

# The statuses an order never leaves; every other one (pending, a held leg) is open.
ENDED = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.REPLACED)


def search(
    db: Session,
    *,
    account_id: uuid.UUID,
    is_open: bool | None,
    limit: int,
    after: datetime | None = None,
    until: datetime | None = None,
    oldest_first: bool = False,
    symbols: list[str] | None = None,
    side: str | None = None,
    nested: bool = False,
) -> list[OrderPublic]:
    """The account's orders placed strictly between `after` and `until`; `is_open` None: open and closed alike.
    Flat, every order (legs too) is listed on its own, without legs; `nested`, only the parents and simple orders,
    each parent with its legs inside, open while it or any of its legs is."""
    query = select(Order).where(Order.account_id == account_id)
    if nested:
        query = query.where(Order.parent_id.is_(None))
    if is_open is not None:
        leg = aliased(Order)
        open_leg = exists().where(leg.parent_id == Order.id, leg.status.not_in(ENDED))
        is_open_now = Order.status.not_in(ENDED) | open_leg if nested else Order.status.not_in(ENDED)
        query = query.where(is_open_now if is_open else ~is_open_now)
    if after is not None:
        query = query.where(Order.created_at > after)
    if until is not None:
        query = query.where(Order.created_at < until)
    if symbols:
        query = query.where(Order.symbol.in_(symbols))
    if side is not None:
        query = query.where(Order.side == side)
    order = (Order.created_at.asc(), Order.id.asc()) if oldest_first else (Order.created_at.desc(), Order.id.desc())
    found = list(db.exec(query.order_by(*order).limit(limit)))
    return orders.shown(db, found) if nested else [OrderPublic.of(row) for row in found]
