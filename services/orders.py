"""Orders: placing (idempotently), filling, canceling, expiring and reading them.

Every change runs in one transaction that locks the account row first (then the position, then the order), so an
account's orders are applied one at a time whatever instance or thread handles them, and the database constraints
(cash >= 0, reserved <= held, one answer per idempotency key) stand behind the checks.
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
from models.order import (
    IdempotencyRecord,
    Order,
    OrderCreate,
    OrderEnvelope,
    OrderPublic,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
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


def _lock_account(db: Session, account_id: uuid.UUID) -> Account:
    return db.exec(select(Account).where(Account.id == account_id).with_for_update()).one()


def _lock_position(db: Session, account_id: uuid.UUID, symbol: str) -> Position | None:
    query = select(Position).where(Position.account_id == account_id, Position.symbol == symbol).with_for_update()
    return db.exec(query).first()


# Placement works on plain rows through SQLAlchemy Core, with statements built once: the ORM's unit of work
# cost more CPU than the rest of a placement together. Rows are read into unattached models, changed by
# `trading`, and written back where they changed.
_ACCOUNTS, _POSITIONS = Account.__table__, Position.__table__
_ORDERS, _LEDGER, _IDEMPOTENCY = Order.__table__, LedgerEntry.__table__, IdempotencyRecord.__table__
_ACCOUNT_VALUES = ("cash", "reserved_cash", "updated_at")
_POSITION_VALUES = ("quantity", "reserved_quantity", "cost_basis", "realized_pnl", "updated_at")
_THE_ACCOUNT = _ACCOUNTS.c.id == bindparam("account")
_THE_POSITION = (_POSITIONS.c.account_id == bindparam("account")) & (_POSITIONS.c.symbol == bindparam("ticker"))
_UPDATE_ACCOUNT, _UPDATE_POSITION = update(_ACCOUNTS).where(_THE_ACCOUNT), update(_POSITIONS).where(_THE_POSITION)
_INSERT_ORDER, _INSERT_LEDGER = insert(_ORDERS), insert(_LEDGER)
_INSERT_IDEMPOTENCY, _INSERT_POSITION = insert(_IDEMPOTENCY), insert(_POSITIONS)


def _placement_reads(chosen) -> tuple:
    """A placement's three locked reads for an account chosen by `chosen` among the owner's open ones: the
    account row, the answer already given to the key, the position row. Built once per way of choosing."""
    mine = (_ACCOUNTS.c.user_id == bindparam("owner")) & _ACCOUNTS.c.closed_at.is_(None) & chosen
    lock_account = (
        select(_ACCOUNTS.c.id, *(_ACCOUNTS.c[name] for name in _ACCOUNT_VALUES)).where(mine).with_for_update()
    )
    answer = (
        select(_IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.response_status, _IDEMPOTENCY.c.response_body)
        .join(_ACCOUNTS, _ACCOUNTS.c.id == _IDEMPOTENCY.c.account_id)
        .where(mine & (_IDEMPOTENCY.c.key == bindparam("idempotency_key")))
    )
    lock_position = (
        select(*(_POSITIONS.c[name] for name in _POSITION_VALUES))
        .join(_ACCOUNTS, _ACCOUNTS.c.id == _POSITIONS.c.account_id)
        .where(mine & (_POSITIONS.c.symbol == bindparam("ticker")))
        .with_for_update(of=_POSITIONS)
    )
    return lock_account, answer, lock_position


_READS_OF_DEFAULT = _placement_reads(_ACCOUNTS.c.is_default)
_READS_OF_ACCOUNT = _placement_reads(_ACCOUNTS.c.id == bindparam("account"))


def _locked_reads(request: "_Request") -> list[Statement]:
    """What a placement reads, in this order: the account row locked first (from here on, this account's other
    placements wait for us), the answer already given to the key, the position row locked. The account is the
    one the request names, if it is one of the user's open accounts, else the user's default."""
    chosen = {"owner": request.user_id}
    if request.account_id is not None:
        chosen["account"] = request.account_id
    lock_account, answer, lock_position = _READS_OF_DEFAULT if request.account_id is None else _READS_OF_ACCOUNT
    return [
        (lock_account, chosen),
        (answer, {**chosen, "idempotency_key": request.key}),
        (lock_position, {**chosen, "ticker": request.order.symbol}),
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
        reached = quote.last >= order.stop_price if order.side == Side.BUY else quote.last <= order.stop_price
        if not reached:
            return None
        order.triggered_at = now
    price = quote.ask if order.side == Side.BUY else quote.bid
    if order.limit_price is None:
        return price
    marketable = price <= order.limit_price if order.side == Side.BUY else price >= order.limit_price
    return price if marketable else None


def _replay(fingerprint: str, first_fingerprint: str, status: int, body: str) -> Placement:
    """The first answer again, if this is the same order as the first one sent with the key."""
    if fingerprint != first_fingerprint:
        raise DomainError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was already used for a different order.")
    return Placement(status, body, replayed=True)


def _expiry(time_in_force: str, clock: MarketClock, now: datetime) -> datetime | None:
    """A day order lives until the close of the session it is placed in (the next one, outside hours)."""
    if time_in_force == TimeInForce.GTC:
        return None
    return clock.session(clock.trading_day(clock.next_open(now)))[1]


@dataclass(frozen=True)
class _Request:
    """One placement's input, whichever way the database is reached."""

    user_id: uuid.UUID
    account_id: uuid.UUID | None  # None: the user's default account
    key: str
    order: OrderCreate
    fingerprint: str  # the order's, computed once: the key is bound to it
    quote: Quote | None
    quote_is_live: bool
    clock: MarketClock
    now: datetime


def _refuse_if_too_small(wanted: OrderCreate, quote: Quote | None, position: Position | None) -> None:
    """An order worth under $1 is refused (valued at its limit, else its stop, else the market), unless it sells
    the whole position."""
    if wanted.side == Side.SELL and position is not None and wanted.quantity == position.quantity:
        return
    price = wanted.limit_price or wanted.stop_price
    if price is None and quote is not None:
        price = quote.ask if wanted.side == Side.BUY else quote.bid
    if price is not None and wanted.quantity * price < trading.SMALLEST_ORDER:
        raise DomainError(
            "VALIDATION_ERROR",
            f"An order must be worth at least ${trading.SMALLEST_ORDER}.",
            [{"field": "quantity", "message": f"the order is worth less than ${trading.SMALLEST_ORDER}"}],
        )


def _decide(request: _Request, rows: list) -> tuple[Placement, OrderPublic | None, list[Statement]]:
    """The placement's answer and the writes that make it so, from the rows `_locked_reads` found."""
    account_row, answer, position_row = rows
    if account_row is None:
        raise DomainError("ACCOUNT_NOT_FOUND", "There is no such account.")
    fingerprint = request.fingerprint
    if answer is not None:
        return _replay(fingerprint, *answer), None, []
    wanted, now = request.order, request.now
    if not symbols.is_listed(wanted.symbol):
        raise DomainError("UNKNOWN_SYMBOL", f"{wanted.symbol} is not listed.", {"symbols": [wanted.symbol]})
    account_id, *balances = account_row
    account = Account(id=account_id, user_id=request.user_id, **dict(zip(_ACCOUNT_VALUES, balances, strict=True)))
    position = None
    if position_row is not None:
        held = dict(zip(_POSITION_VALUES, position_row, strict=True))
        position = Position(account_id=account_id, symbol=wanted.symbol, **held)

    order = Order(
        account_id=account_id,
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
    if wanted.order_type == OrderType.MARKET and (quote is None or (is_open and not request.quote_is_live)):
        raise DomainError("NO_QUOTE", f"There is no live quote for {wanted.symbol} to fill a market order against.")
    if wanted.side == Side.SELL and trading.available_shares(position) < wanted.quantity:
        raise DomainError("INSUFFICIENT_SHARES", f"You have {trading.available_shares(position)} shares to sell.")
    _refuse_if_too_small(wanted, quote, position)
    account_before = _values(account, _ACCOUNT_VALUES)
    position_before = _values(position, _POSITION_VALUES) if position is not None else None

    # Only a live quote fills at once; against a stale one even a marketable limit rests for the engine.
    price = execution_price(order, quote, now) if quote is not None and request.quote_is_live and is_open else None
    entries = []
    if price is not None:
        if wanted.side == Side.BUY and trading.cost(wanted.quantity, price) > trading.buying_power(account):
            raise DomainError("INSUFFICIENT_FUNDS", "Not enough buying power for this order.")
        if position is None:
            position = Position(account_id=account_id, symbol=wanted.symbol)
        entries = trading.fill(account, position, order, price, now)
    else:
        amount = Decimal(0)
        if wanted.side == Side.BUY:
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
        "account_id": account_id,
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
        writes.append((_UPDATE_ACCOUNT, {"account": account_id, **changed}))
    if position is not None and position_before is None:
        writes.append((_INSERT_POSITION, _row(position, _POSITIONS)))
    elif position is not None and _values(position, _POSITION_VALUES) != position_before:
        changed = dict(zip(_POSITION_VALUES, _values(position, _POSITION_VALUES), strict=True))
        writes.append((_UPDATE_POSITION, {"account": account_id, "ticker": wanted.symbol, **changed}))
    return Placement(201, body, replayed=False), public, writes


def place(
    db: Session,
    *,
    user_id: uuid.UUID,
    account_id: uuid.UUID | None = None,
    key: str,
    request: OrderCreate,
    quote: Quote | None,
    quote_is_live: bool,
    clock: MarketClock,
    now: datetime,
) -> tuple[Placement, OrderPublic | None]:
    """Place an order against a given quote and clock, or replay the answer already given to this idempotency key
    (blocking, any database). `account_id` None: the user's default account."""
    placing = _Request(user_id, account_id, key, request, request.fingerprint(), quote, quote_is_live, clock, now)
    return _place_blocking(db, placing)


def _place_blocking(db: Session, request: _Request) -> tuple[Placement, OrderPublic | None]:
    conn = db.connection()
    rows = [conn.execute(statement, values).first() for statement, values in _locked_reads(request)]
    placement, public, writes = _decide(request, rows)
    for statement, values in writes:
        conn.execute(statement, values)
    db.commit()
    return placement, public


async def _place_on_loop(pg: AsyncPostgres, request: _Request) -> tuple[Placement, OrderPublic | None]:
    """`place` on PostgreSQL from the event loop: the reads in one round trip, the writes and commit in another."""
    async with pg.transaction() as tx:
        rows = await tx.first_rows(_locked_reads(request))
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


async def submit(
    rt: "Runtime", *, user_id: uuid.UUID, account_id: uuid.UUID | None = None, key: str, request: OrderCreate
) -> Placement:
    """Place an order in one of the user's accounts (`account_id` None: the default) against this process's live
    market (its latest quote, its clock, the configured rate limit), behind the cache's fast path: answered keys
    replay without the database, and a key already in flight is refused. The database stays the arbiter: without
    the cache, nothing is placed twice either. Replays of answered keys do not count against the placement
    limit, which counts per user."""
    cache, rate_limit = rt.cache, rt.settings.order_rate_limit
    cache_key = f"idempotency:{user_id}:{account_id or 'default'}:{key}"
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
    live = _Request(user_id, account_id, key, request, fingerprint, quote, quote_is_live, rt.clock, utcnow())
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


def _owned(db: Session, account_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id, Order.account_id == account_id)
    order = db.exec(query.with_for_update() if lock else query).first()
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    return order


def get(db: Session, *, account_id: uuid.UUID, order_id: uuid.UUID) -> OrderPublic:
    return OrderPublic.of(_owned(db, account_id, order_id))


def list_orders(
    db: Session,
    *,
    account_id: uuid.UUID,
    status: str | None,
    limit: int,
    before: uuid.UUID | None = None,
    symbol: str | None = None,
) -> list[OrderPublic]:
    """Newest first; `before` continues a listing after the order with that id."""
    query = select(Order).where(Order.account_id == account_id)
    if status is not None:
        query = query.where(Order.status == status)
    if symbol is not None:
        query = query.where(Order.symbol == symbol)
    if before is not None:
        anchor = db.exec(select(Order).where(Order.id == before, Order.account_id == account_id)).first()
        if anchor is None:
            raise DomainError("VALIDATION_ERROR", "`before` is not one of your orders.", [{"field": "before"}])
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(anchor.created_at, anchor.id))
    rows = db.exec(query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    return [OrderPublic.of(order) for order in rows]


def _settle(db: Session, account: Account, order: Order, status: str, now: datetime) -> OrderPublic:
    """End a locked resting order without a fill, releasing what it holds."""
    trading.release(account, _lock_position(db, order.account_id, order.symbol), order)
    order.status, order.updated_at = status, now
    db.commit()
    return OrderPublic.of(order)


def cancel(
    db: Session, bus: Bus, *, user_id: uuid.UUID, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> OrderPublic:
    account = _lock_account(db, account_id)
    if account.user_id != user_id:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    order = _owned(db, account_id, order_id, lock=True)
    if order.status != OrderStatus.PENDING:
        raise DomainError("ORDER_NOT_CANCELABLE", f"This order is {order.status} and can no longer be canceled.")
    public = _settle(db, account, order, OrderStatus.CANCELED, now)
    notify(bus, user_id, public)
    return public


def _pending_locked(db: Session, order_id: uuid.UUID) -> tuple[Account, Order] | None:
    """Lock the account, then the order, and re-read it: another fill, cancel or expiry may have won the race."""
    account_id = db.exec(select(Order.account_id).where(Order.id == order_id)).first()
    if account_id is None:
        return None
    account = _lock_account(db, account_id)
    order = db.exec(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status != OrderStatus.PENDING:
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
    position = _lock_position(db, order.account_id, order.symbol)
    trading.release(account, position, order)
    if order.side == Side.BUY and trading.cost(order.quantity, price) > trading.buying_power(account):
        # Only a stop buy can get here: the market gapped past its 5 % collar.
        order.status, order.updated_at = OrderStatus.REJECTED, now
        order.reject_reason = "The price moved past what was reserved for this order."
    else:
        if position is None:
            position = Position(account_id=order.account_id, symbol=order.symbol)
            db.add(position)
        db.add_all(trading.fill(account, position, order, price, now))
    db.commit()
    public = OrderPublic.of(order)
    notify(bus, account.user_id, public)
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
    public = _settle(db, account, order, OrderStatus.EXPIRED, now)
    notify(bus, account.user_id, public)
    return public


def resting(db: Session) -> list[Order]:
    """Every pending order, for the execution engine's index."""
    return list(db.exec(select(Order).where(Order.status == OrderStatus.PENDING)))


def due_to_expire(db: Session, now: datetime) -> list[uuid.UUID]:
    query = select(Order.id).where(Order.status == OrderStatus.PENDING, Order.expires_at <= now)
    return list(db.exec(query))


def purge_idempotency(db: Session, before: datetime) -> None:
    """Keys are honoured for at least 24 h; older records go, so the table does not grow forever."""
    db.execute(IdempotencyRecord.__table__.delete().where(IdempotencyRecord.created_at < before))
    db.commit()
