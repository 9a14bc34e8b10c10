"""Orders: placing (idempotently), filling, canceling, expiring and reading them.

Every change runs in one transaction that locks the user's account row first (then the position, then the
order), so a user's orders are applied one at a time whatever instance or thread handles them, and the
database constraints (cash >= 0, reserved <= held, one answer per idempotency key) stand behind the checks.
"""

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import bindparam, insert, tuple_, update
from sqlmodel import Session, select

from models.account import Account, LedgerEntry, Position
from models.market import Quote
from models.order import IdempotencyRecord, Order, OrderCreate, OrderEnvelope, OrderPublic
from models.types import utcnow
from services import rate_limits, symbols, trading
from services.bus import Bus
from services.db import session_scope
from services.errors import DomainError
from services.event_hub import apublish_user_event, publish_user_event
from services.market_clock import MarketClock
from services.pg_async import AsyncPostgres, Statement

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

IDEMPOTENCY_TTL = 24 * 3600  # the cache's copy; the database keeps the record longer (see purge_idempotency)
CLAIM_TTL = 10  # seconds; the claim only turns duplicates away (the database stops doubles): a dead instance's
# claims hold up its clients' retries this long


@dataclass(frozen=True)
class Placement:
    status: int
    body: str  # exactly what was answered the first time; a retry replays it byte for byte
    replayed: bool
    quota: rate_limits.Quota | None = None  # where the user stands against the placement limit, when one is set


def _lock_account(db: Session, user_id: uuid.UUID) -> Account:
    return db.exec(select(Account).where(Account.user_id == user_id).with_for_update()).one()


def _lock_position(db: Session, user_id: uuid.UUID, symbol: str) -> Position | None:
    query = select(Position).where(Position.user_id == user_id, Position.symbol == symbol).with_for_update()
    return db.exec(query).first()


# Placement works on plain rows through SQLAlchemy Core, with statements built once: the ORM's unit of work
# cost more CPU than the rest of a placement together. Rows are read into unattached models, changed by
# `trading`, and written back where they changed.
_ACCOUNTS, _POSITIONS = Account.__table__, Position.__table__
_ORDERS, _LEDGER, _IDEMPOTENCY = Order.__table__, LedgerEntry.__table__, IdempotencyRecord.__table__
_ACCOUNT_VALUES = ("cash", "reserved_cash", "updated_at")
_POSITION_VALUES = ("quantity", "reserved_quantity", "cost_basis", "realized_pnl", "updated_at")
_THE_ACCOUNT = _ACCOUNTS.c.user_id == bindparam("owner")
_THE_POSITION = (_POSITIONS.c.user_id == bindparam("owner")) & (_POSITIONS.c.symbol == bindparam("ticker"))
_LOCK_ACCOUNT = select(*(_ACCOUNTS.c[name] for name in _ACCOUNT_VALUES)).where(_THE_ACCOUNT).with_for_update()
_LOCK_POSITION = select(*(_POSITIONS.c[name] for name in _POSITION_VALUES)).where(_THE_POSITION).with_for_update()
_UPDATE_ACCOUNT, _UPDATE_POSITION = update(_ACCOUNTS).where(_THE_ACCOUNT), update(_POSITIONS).where(_THE_POSITION)
_ANSWER_OF_KEY = select(
    _IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.response_status, _IDEMPOTENCY.c.response_body
).where((_IDEMPOTENCY.c.user_id == bindparam("owner")) & (_IDEMPOTENCY.c.key == bindparam("idempotency_key")))
_INSERT_ORDER, _INSERT_LEDGER = insert(_ORDERS), insert(_LEDGER)
_INSERT_IDEMPOTENCY, _INSERT_POSITION = insert(_IDEMPOTENCY), insert(_POSITIONS)


def _locked_reads(user_id: uuid.UUID, symbol: str, key: str) -> list[Statement]:
    """What a placement reads, in this order: the account row locked first (from here on, this user's other
    placements wait for us), the answer already given to the key, the position row locked."""
    return [
        (_LOCK_ACCOUNT, {"owner": user_id}),
        (_ANSWER_OF_KEY, {"owner": user_id, "idempotency_key": key}),
        (_LOCK_POSITION, {"owner": user_id, "ticker": symbol}),
    ]


def _values(row: Account | Position, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(row, name) for name in names)


def _row(model, table) -> dict:
    """The model's column values, for an INSERT (an unset autoincrement id left to the database)."""
    values = {column.name: getattr(model, column.name) for column in table.columns}
    if values.get("id", 0) is None:
        del values["id"]
    return values


def execution_price(order: Order, quote: Quote, now: datetime) -> Decimal | None:
    """The price `order` executes at against `quote` now, or None while it must rest.

    A stop whose trigger the last price reaches becomes a market (stop) or limit (stop_limit) order, which
    is recorded on the order as `triggered_at`.
    """
    if order.stop_price is not None and order.triggered_at is None:
        reached = quote.last >= order.stop_price if order.side == "buy" else quote.last <= order.stop_price
        if not reached:
            return None
        order.triggered_at = now
    price = quote.ask if order.side == "buy" else quote.bid
    if order.limit_price is None:
        return price
    marketable = price <= order.limit_price if order.side == "buy" else price >= order.limit_price
    return price if marketable else None


def _replay(fingerprint: str, first_fingerprint: str, status: int, body: str) -> Placement:
    """The first answer again, if this is the same order as the first one sent with the key."""
    if fingerprint != first_fingerprint:
        raise DomainError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was already used for a different order.")
    return Placement(status, body, replayed=True)


def _expiry(time_in_force: str, clock: MarketClock, now: datetime) -> datetime | None:
    """A day order lives until the close of the session it is placed in (the next one, outside hours)."""
    if time_in_force == "gtc":
        return None
    return clock.session(clock.trading_day(clock.next_open(now)))[1]


@dataclass(frozen=True)
class _Request:
    """One placement's input, whichever way the database is reached."""

    user_id: uuid.UUID
    key: str
    order: OrderCreate
    fingerprint: str  # the order's, computed once: the key is bound to it
    quote: Quote | None
    quote_is_live: bool
    clock: MarketClock
    now: datetime


def _decide(request: _Request, rows: list) -> tuple[Placement, OrderPublic | None, list[Statement]]:
    """The placement's answer and the writes that make it so, from the rows `_locked_reads` found."""
    account_row, answer, position_row = rows
    fingerprint = request.fingerprint
    if answer is not None:
        return _replay(fingerprint, *answer), None, []
    wanted, user_id, now = request.order, request.user_id, request.now
    if not symbols.is_listed(wanted.symbol):
        raise DomainError("UNKNOWN_SYMBOL", f"{wanted.symbol} is not listed.", {"symbols": [wanted.symbol]})
    account = Account(user_id=user_id, **dict(zip(_ACCOUNT_VALUES, account_row, strict=True)))
    position = None
    if position_row is not None:
        held = dict(zip(_POSITION_VALUES, position_row, strict=True))
        position = Position(user_id=user_id, symbol=wanted.symbol, **held)

    order = Order(
        user_id=user_id,
        symbol=wanted.symbol,
        side=wanted.side,
        order_type=wanted.order_type,
        quantity=wanted.quantity,
        limit_price=wanted.limit_price,
        stop_price=wanted.stop_price,
        time_in_force=wanted.time_in_force,
        expires_at=_expiry(wanted.time_in_force, request.clock, now),
        created_at=now,
        updated_at=now,
    )
    quote, is_open = request.quote, request.clock.is_open(now)
    if wanted.order_type == "market" and (quote is None or (is_open and not request.quote_is_live)):
        raise DomainError("NO_QUOTE", f"There is no live quote for {wanted.symbol} to fill a market order against.")
    if wanted.side == "sell" and trading.available_shares(position) < wanted.quantity:
        raise DomainError("INSUFFICIENT_SHARES", f"You have {trading.available_shares(position)} shares to sell.")
    account_before = _values(account, _ACCOUNT_VALUES)
    position_before = _values(position, _POSITION_VALUES) if position is not None else None

    # Only a live quote fills at once; against a stale one even a marketable limit rests for the engine.
    price = execution_price(order, quote, now) if quote is not None and request.quote_is_live and is_open else None
    entries = []
    if price is not None:
        if wanted.side == "buy" and trading.notional(wanted.quantity, price) > trading.buying_power(account):
            raise DomainError("INSUFFICIENT_FUNDS", "Not enough buying power for this order.")
        if position is None:
            position = Position(user_id=user_id, symbol=wanted.symbol)
        entries = trading.fill(account, position, order, price, now)
    else:
        amount = Decimal(0)
        if wanted.side == "buy":
            amount = trading.buy_reservation(order, quote.ask if quote else None)
            if amount > trading.buying_power(account):
                raise DomainError("INSUFFICIENT_FUNDS", "Not enough buying power to reserve for this order.")
        trading.reserve(account, position, order, amount)
    public = OrderPublic.of(order)
    body = OrderEnvelope(order=public).model_dump_json(by_alias=True)
    # The order row first: the ledger and the idempotency record refer to it.
    writes: list[Statement] = [(_INSERT_ORDER, _row(order, _ORDERS))]
    writes += [(_INSERT_LEDGER, _row(entry, _LEDGER)) for entry in entries]
    record = {
        "user_id": user_id,
        "key": request.key,
        "request_hash": fingerprint,
        "response_status": 201,
        "response_body": body,
        "order_id": order.id,
        "created_at": now,
    }
    writes.append((_INSERT_IDEMPOTENCY, record))
    if _values(account, _ACCOUNT_VALUES) != account_before:
        changed = dict(zip(_ACCOUNT_VALUES, _values(account, _ACCOUNT_VALUES), strict=True))
        writes.append((_UPDATE_ACCOUNT, {"owner": user_id, **changed}))
    if position is not None and position_before is None:
        writes.append((_INSERT_POSITION, _row(position, _POSITIONS)))
    elif position is not None and _values(position, _POSITION_VALUES) != position_before:
        changed = dict(zip(_POSITION_VALUES, _values(position, _POSITION_VALUES), strict=True))
        writes.append((_UPDATE_POSITION, {"owner": user_id, "ticker": wanted.symbol, **changed}))
    return Placement(201, body, replayed=False), public, writes


def place(
    db: Session,
    *,
    user_id: uuid.UUID,
    key: str,
    request: OrderCreate,
    quote: Quote | None,
    quote_is_live: bool,
    clock: MarketClock,
    now: datetime,
) -> tuple[Placement, OrderPublic | None]:
    """Place an order against a given quote and clock, or replay the answer already given to this idempotency key
    (blocking, any database)."""
    placing = _Request(user_id, key, request, request.fingerprint(), quote, quote_is_live, clock, now)
    return _place_blocking(db, placing)


def _place_blocking(db: Session, request: _Request) -> tuple[Placement, OrderPublic | None]:
    conn = db.connection()
    reads = _locked_reads(request.user_id, request.order.symbol, request.key)
    rows = [conn.execute(statement, values).first() for statement, values in reads]
    placement, public, writes = _decide(request, rows)
    for statement, values in writes:
        conn.execute(statement, values)
    db.commit()
    return placement, public


async def _place_on_loop(pg: AsyncPostgres, request: _Request) -> tuple[Placement, OrderPublic | None]:
    """`place` on PostgreSQL from the event loop: the reads in one round trip, the writes and commit in another."""
    async with pg.transaction() as tx:
        rows = await tx.first_rows(_locked_reads(request.user_id, request.order.symbol, request.key))
        placement, public, writes = _decide(request, rows)
        if writes:
            await tx.commit(writes)
    return placement, public


async def _place(rt: "Runtime", request: _Request) -> tuple[Placement, OrderPublic | None]:
    if rt.pg is not None:
        return await _place_on_loop(rt.pg, request)

    def in_a_session() -> tuple[Placement, OrderPublic | None]:  # the embedded SQLite file blocks: a worker thread
        with session_scope(rt.engine) as db:
            return _place_blocking(db, request)

    return await asyncio.to_thread(in_a_session)


async def submit(rt: "Runtime", *, user_id: uuid.UUID, key: str, request: OrderCreate) -> Placement:
    """Place an order against this process's live market (its latest quote, its clock, the configured rate limit),
    behind the cache's fast path: answered keys replay without the database, and a key already in flight is
    refused. The database stays the arbiter: without the cache, nothing is placed twice either. Replays of
    answered keys do not count against the placement limit."""
    cache, rate_limit = rt.cache, rt.settings.order_rate_limit
    cache_key = f"idempotency:{user_id}:{key}"
    claim = f"{cache_key}:in-flight"
    rate_key = f"orders:{user_id}"
    fingerprint = request.fingerprint()
    remembered, claimed = await cache.aget_and_add(cache_key, claim, "1", ttl=CLAIM_TTL)
    if remembered is not None:
        if claimed:
            await cache.adelete(claim)
        placement = _replay(fingerprint, *orjson.loads(remembered))
        quota = await rate_limits.peek(cache, rate_key, limit=rate_limit) if rate_limit else None
        return replace(placement, quota=quota)
    try:
        quota = await rate_limits.take(cache, rate_key, limit=rate_limit, what="orders") if rate_limit else None
    except DomainError:
        if claimed:
            await cache.adelete(claim)
        raise
    if not claimed:
        raise DomainError("DUPLICATE_REQUEST", "An order with this idempotency key is still being processed.")
    quote, quote_is_live = rt.hub.latest.get(request.symbol), not rt.hub.stale
    live = _Request(user_id, key, request, fingerprint, quote, quote_is_live, rt.clock, utcnow())
    try:
        placement, public = await _place(rt, live)
    except BaseException as exc:
        await cache.adelete(claim)
        if isinstance(exc, DomainError) and quota is not None and exc.headers is None:
            exc.headers = quota.headers()  # a refused placement still counted against the limit
        raise
    # The answer goes in before the claim comes off, so a duplicate in between replays from the cache.
    entry = orjson.dumps([fingerprint, placement.status, placement.body]).decode()
    await cache.aset_and_delete(cache_key, entry, ttl=IDEMPOTENCY_TTL, gone=claim)
    if public is not None:
        await apublish_user_event(rt.bus, user_id, "order_update", _event(public))
    return replace(placement, quota=quota)


def order_of(placement: Placement) -> OrderPublic:
    """The order a successful placement answered with."""
    return OrderEnvelope.model_validate_json(placement.body).order


def notify(bus: Bus, user_id: uuid.UUID, order: OrderPublic) -> None:
    publish_user_event(bus, user_id, "order_update", _event(order))


def _event(order: OrderPublic) -> dict:
    return order.model_dump(mode="json", by_alias=True)


def _owned(db: Session, user_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id, Order.user_id == user_id)
    order = db.exec(query.with_for_update() if lock else query).first()
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    return order


def get(db: Session, *, user_id: uuid.UUID, order_id: uuid.UUID) -> OrderPublic:
    return OrderPublic.of(_owned(db, user_id, order_id))


def list_orders(
    db: Session,
    *,
    user_id: uuid.UUID,
    status: str | None,
    limit: int,
    before: uuid.UUID | None = None,
    symbol: str | None = None,
) -> list[OrderPublic]:
    """Newest first; `before` continues a listing after the order with that id."""
    query = select(Order).where(Order.user_id == user_id)
    if status is not None:
        query = query.where(Order.status == status)
    if symbol is not None:
        query = query.where(Order.symbol == symbol)
    if before is not None:
        anchor = db.exec(select(Order).where(Order.id == before, Order.user_id == user_id)).first()
        if anchor is None:
            raise DomainError("VALIDATION_ERROR", "`before` is not one of your orders.", [{"field": "before"}])
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(anchor.created_at, anchor.id))
    rows = db.exec(query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    return [OrderPublic.of(order) for order in rows]


def _settle(db: Session, account: Account, order: Order, status: str, now: datetime) -> OrderPublic:
    """End a locked resting order without a fill, releasing what it holds."""
    trading.release(account, _lock_position(db, order.user_id, order.symbol), order)
    order.status, order.updated_at = status, now
    db.commit()
    return OrderPublic.of(order)


def cancel(db: Session, bus: Bus, *, user_id: uuid.UUID, order_id: uuid.UUID, now: datetime) -> OrderPublic:
    account = _lock_account(db, user_id)
    order = _owned(db, user_id, order_id, lock=True)
    if order.status != "pending":
        raise DomainError("ORDER_NOT_CANCELABLE", f"This order is {order.status} and can no longer be canceled.")
    public = _settle(db, account, order, "canceled", now)
    notify(bus, user_id, public)
    return public


def _pending_locked(db: Session, order_id: uuid.UUID) -> tuple[Account, Order] | None:
    """Lock the account, then the order, and re-read it: another fill, cancel or expiry may have won the race."""
    user_id = db.exec(select(Order.user_id).where(Order.id == order_id)).first()
    if user_id is None:
        return None
    account = _lock_account(db, user_id)
    order = db.exec(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status != "pending":
        db.rollback()
        return None
    return account, order


def try_fill(
    db: Session, bus: Bus, *, order_id: uuid.UUID, quote: Quote, clock: MarketClock, now: datetime
) -> OrderPublic | None:
    """Fill a resting order if `quote` reaches it; each order fills at most once, whoever else tries."""
    if not clock.is_open(now):
        return None
    locked = _pending_locked(db, order_id)
    if locked is None:
        return None
    account, order = locked
    price = execution_price(order, quote, now)
    if price is None:
        if order.triggered_at == now:  # a stop_limit whose stop fired now rests as a limit order
            db.commit()
        else:
            db.rollback()
        return None
    position = _lock_position(db, order.user_id, order.symbol)
    trading.release(account, position, order)
    if order.side == "buy" and trading.notional(order.quantity, price) > trading.buying_power(account):
        # Only a stop buy can get here: the market gapped past its 5 % collar.
        order.status, order.updated_at = "rejected", now
        order.reject_reason = "The price moved past what was reserved for this order."
    else:
        if position is None:
            position = Position(user_id=order.user_id, symbol=order.symbol)
            db.add(position)
        db.add_all(trading.fill(account, position, order, price, now))
    db.commit()
    public = OrderPublic.of(order)
    notify(bus, order.user_id, public)
    return public


def expire(db: Session, bus: Bus, *, order_id: uuid.UUID, now: datetime) -> OrderPublic | None:
    """End a day order whose session has closed."""
    locked = _pending_locked(db, order_id)
    if locked is None:
        return None
    account, order = locked
    if order.expires_at is None or order.expires_at > now:
        db.rollback()
        return None
    public = _settle(db, account, order, "expired", now)
    notify(bus, order.user_id, public)
    return public


def resting(db: Session) -> list[Order]:
    """Every pending order, for the execution engine's index."""
    return list(db.exec(select(Order).where(Order.status == "pending")))


def due_to_expire(db: Session, now: datetime) -> list[uuid.UUID]:
    query = select(Order.id).where(Order.status == "pending", Order.expires_at <= now)
    return list(db.exec(query))


def purge_idempotency(db: Session, before: datetime) -> None:
    """Keys are honoured for at least 24 h; older records go, so the table does not grow forever."""
    db.execute(IdempotencyRecord.__table__.delete().where(IdempotencyRecord.created_at < before))
    db.commit()
