"""Finding an account's orders the way a broker API's clients ask: open or closed, a time window, a side, some
symbols, oldest or newest first (the Alpaca surface's `GET /v2/orders`)."""

import uuid
from datetime import datetime

from sqlmodel import Session, select

from models.order import Order, OrderPublic, OrderStatus

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
) -> list[OrderPublic]:
    """The account's orders placed strictly between `after` and `until`; `is_open` None: open and closed alike."""
    query = select(Order).where(Order.account_id == account_id)
    if is_open is not None:
        query = query.where(Order.status.not_in(ENDED) if is_open else Order.status.in_(ENDED))
    if after is not None:
        query = query.where(Order.created_at > after)
    if until is not None:
        query = query.where(Order.created_at < until)
    if symbols:
        query = query.where(Order.symbol.in_(symbols))
    if side is not None:
        query = query.where(Order.side == side)
    order = (Order.created_at.asc(), Order.id.asc()) if oldest_first else (Order.created_at.desc(), Order.id.desc())
    return [OrderPublic.of(row) for row in db.exec(query.order_by(*order).limit(limit))]
