"""Orders: placing (idempotently), filling, canceling, expiring and reading them.

Every change of money is one transaction of the store (services.trading.store) that locks the account row first
(then the order, then the position), decided by services.trading.rules: an account's orders are applied one at a
time whatever instance handles them, and the database constraints (cash >= 0, reserved <= held, one answer per
idempotency key) stand behind the rules.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import bindparam, tuple_
from sqlmodel import Session, select

from models.account import Account, AccountKind, Position
from models.market import Quote
from models.order import (
    IdempotencyRecord,
    Order,
    OrderClass,
    OrderCreate,
    OrderEnvelope,
    OrderPublic,
    OrderReplace,
    OrderStatus,
)
from models.types import utcnow
from services.infra import rate_limits
from services.infra.bus import Bus
from services.infra.errors import DomainError
from services.infra.event_hub import apublish_user_event
from services.infra.pg_async import Statement
from services.market import symbols
from services.market.clock import MarketClock
from services.trading import rules
from services.trading.store import Store, Transaction, lock

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


# -- placing -----------------------------------------------------------------------------------------------------

_ACCOUNTS, _POSITIONS, _IDEMPOTENCY = Account.__table__, Position.__table__, IdempotencyRecord.__table__
_ORDERS = Order.__table__


def _placement_reads(chosen) -> tuple:
    """A placement's three locked reads for an account chosen by `chosen` among the owner's open ones: the
    account row, the answer already given to the key, the position row. Built once per way of choosing."""
    mine = (_ACCOUNTS.c.user_id == bindparam("owner")) & _ACCOUNTS.c.closed_at.is_(None) & chosen
    lock_account = select(*_ACCOUNTS.columns).where(mine).with_for_update()
    answer = (
        select(_IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.response_status, _IDEMPOTENCY.c.response_body)
        .join(_ACCOUNTS, _ACCOUNTS.c.id == _IDEMPOTENCY.c.account_id)
        .where(mine & (_IDEMPOTENCY.c.key == bindparam("idempotency_key")))
    )
    lock_position = (
        select(*_POSITIONS.columns)
        .join(_ACCOUNTS, _ACCOUNTS.c.id == _POSITIONS.c.account_id)
        .where(mine & (_POSITIONS.c.symbol == bindparam("ticker")))
        .with_for_update(of=_POSITIONS)
    )
    return lock_account, answer, lock_position


_READS_OF_DEFAULT = _placement_reads(_ACCOUNTS.c.is_default)
_READS_OF_ACCOUNT = _placement_reads(_ACCOUNTS.c.id == bindparam("account"))


@dataclass(frozen=True)
class _Request:
    """One placement's input."""

    user_id: uuid.UUID
    account_id: uuid.UUID | None  # None: the user's default account
    key: str
    order: OrderCreate
    fingerprint: str  # the order's, computed once: the key is bound to it
    market: rules.Market
    now: datetime


def _locked_reads(request: _Request) -> list[Statement]:
    """What a placement reads, in this order: the account row locked first (from here on, this account's other
    changes wait for us), the answer already given to the key, the position row locked."""
    chosen = {"owner": request.user_id}
    if request.account_id is not None:
        chosen["account"] = request.account_id
    lock_account, answer, lock_position = _READS_OF_DEFAULT if request.account_id is None else _READS_OF_ACCOUNT
    return [
        (lock_account, chosen),
        (answer, {**chosen, "idempotency_key": request.key}),
        (lock_position, {**chosen, "ticker": request.order.symbol}),
    ]


def _replay(fingerprint: str, first_fingerprint: str, status: int, body: str) -> Placement:
    """The first answer again, if this is the same order as the first one sent with the key."""
    if fingerprint != first_fingerprint:
        raise DomainError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was already used for a different order.")
    return Placement(status, body, replayed=True)


_CLIENT_ORDER_ID_TAKEN = select(_ORDERS.c.id).where(
    (_ORDERS.c.account_id == bindparam("account")) & (_ORDERS.c.client_order_id == bindparam("client_order_id"))
)


async def _refuse_taken_client_order_id(tx: Transaction, account_id: uuid.UUID, client_order_id: str) -> None:
    """A client's id names one order for the account's life. Read under the account's lock, so two placements
    cannot both take it; the unique index stands behind this."""
    (found,) = await tx.read([(_CLIENT_ORDER_ID_TAKEN, {"account": account_id, "client_order_id": client_order_id})])
    if found:
        raise DomainError(
            "DUPLICATE_CLIENT_ORDER_ID",
            "An order with this clientOrderId already exists in this account.",
            [{"field": "clientOrderId", "message": "must be unique in the account"}],
        )


# -- the league hook: a league account places under its league's rules ---------------------------------------------

# (transaction, account, the order wanted, market, now, the order it replaces or None)
LeagueRules = Callable[[Transaction, Account, OrderCreate, rules.Market, datetime, uuid.UUID | None], Awaitable[None]]
_league_rules: LeagueRules | None = None


def use_league_rules(check: LeagueRules | None) -> None:
    """Set what a league account's placement asks, under the account's lock, before it is placed (it raises the
    refusal). services.leagues builds on this module, so the runtime hands it in."""
    global _league_rules
    _league_rules = check


async def _refuse_if_league_forbids(
    tx: Transaction,
    account: Account,
    wanted: OrderCreate,
    market: rules.Market,
    now: datetime,
    replacing: uuid.UUID | None = None,
) -> None:
    if account.kind != AccountKind.LEAGUE:
        return
    if _league_rules is None:  # no rules to ask: a league account does not trade unchecked
        raise DomainError("LEAGUE_NOT_RUNNING", "This league account cannot trade now.")
    await _league_rules(tx, account, wanted, market, now, replacing)


async def _place(store: Store, request: _Request) -> tuple[Placement, OrderPublic | None]:
    """Place the order, or replay the answer already given to its key, in one transaction of the store."""
    async with store.transaction() as tx:
        accounts, answers, positions = await tx.read(_locked_reads(request))
        if not accounts:
            raise DomainError("ACCOUNT_NOT_FOUND", "There is no such account.")
        if answers:
            return _replay(request.fingerprint, *answers[0]), None
        wanted = request.order
        if not symbols.is_listed(wanted.symbol):
            raise DomainError("UNKNOWN_SYMBOL", f"{wanted.symbol} is not listed.", {"symbols": [wanted.symbol]})
        account = tx.load(Account, accounts[0])
        if wanted.client_order_id is not None:
            await _refuse_taken_client_order_id(tx, account.id, wanted.client_order_id)
        position = tx.load(Position, positions[0] if positions else None)
        await _refuse_if_league_forbids(tx, account, wanted, request.market, request.now)
        order, *others = rules.place(wanted, account, position, request.market, request.now)
        public = OrderPublic.of(order, [row for row in others if isinstance(row, Order)])
        body = OrderEnvelope(order=public).model_dump_json(by_alias=True)
        tx.add(order)  # first: the position, ledger and idempotency rows refer to it
        for row in others:
            tx.add(row)
        tx.add(
            IdempotencyRecord(
                account_id=account.id,
                key=request.key,
                request_hash=request.fingerprint,
                response_status=201,
                response_body=body,
                order_id=order.id,
                created_at=request.now,
            )
        )
        await tx.commit()
    return Placement(201, body, replayed=False), public


async def place(
    store: Store,
    *,
    user_id: uuid.UUID,
    account_id: uuid.UUID | None = None,
    key: str,
    request: OrderCreate,
    market: rules.Market,
    now: datetime,
) -> tuple[Placement, OrderPublic | None]:
    """Place an order against a given market and clock, or replay the answer already given to this idempotency
    key, without the cache's fast path (`submit` is the one the front doors use). `account_id` None: the user's
    default account."""
    return await _place(store, _Request(user_id, account_id, key, request, request.fingerprint(), market, now))


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
    market = rules.Market(rt.hub.latest.get(request.symbol), not rt.hub.stale, rt.clock)
    live = _Request(user_id, account_id, key, request, fingerprint, market, utcnow())
    try:
        placement, public = await _place(rt.store, live)
    except BaseException as exc:
        await cache.adelete(claim)
        _tell_quota(exc, quota)
        raise
    # The answer goes in before the claim comes off, so a duplicate in between replays from the cache.
    entry = orjson.dumps([fingerprint, placement.status, placement.body]).decode()
    await cache.aset_and_delete(cache_key, entry, ttl=IDEMPOTENCY_TTL, gone=claim)
    if public is not None:
        for order in (public, *(public.legs or ())):  # legs resting at once reach the engine too
            await notify(rt.bus, user_id, order)
    return replace(placement, quota=quota)


def _tell_quota(refusal: BaseException, quota: rate_limits.Quota | None) -> None:
    """A refused placement or replacement still counted against the limit: its answer says where the user stands."""
    if isinstance(refusal, DomainError) and quota is not None and refusal.headers is None:
        refusal.headers = quota.headers()


def order_of(placement: Placement) -> OrderPublic:
    """The order a successful placement answered with."""
    return OrderEnvelope.model_validate_json(placement.body).order


async def notify(bus: Bus, user_id: uuid.UUID, order: OrderPublic) -> None:
    """Tell the user's sockets and pages, on every instance, that the order was placed or changed."""
    await apublish_user_event(bus, user_id, "order_update", order.model_dump(mode="json", by_alias=True))


# -- changing a resting order --------------------------------------------------------------------------------------

# The position an order trades, locked, found from the order's id (a cancel knows no more than that).
_LOCK_POSITION_OF_ORDER = (
    select(*_POSITIONS.columns)
    .where(
        (_POSITIONS.c.account_id == bindparam("account"))
        & (_POSITIONS.c.symbol == select(_ORDERS.c.symbol).where(_ORDERS.c.id == bindparam("order")).scalar_subquery())
    )
    .with_for_update()
)


# The other orders of the order's group, locked: its legs, its parent, its parent's other legs.
_PARENT_OF_ORDER = select(_ORDERS.c.parent_id).where(_ORDERS.c.id == bindparam("order")).scalar_subquery()
_LOCK_GROUP_OF_ORDER = (
    select(*_ORDERS.columns)
    .where(
        (_ORDERS.c.id != bindparam("order"))
        & (
            (_ORDERS.c.parent_id == bindparam("order"))
            | (_ORDERS.c.id == _PARENT_OF_ORDER)
            | (_ORDERS.c.parent_id == _PARENT_OF_ORDER)
        )
    )
    .with_for_update()
)


@dataclass
class _Book:
    """What a change of one order reads, locked: its account, the order (if it is the account's), its position
    and the other orders of its group (legs, parent, sibling)."""

    account: Account | None
    order: Order | None
    position: Position | None
    group: list[Order]

    def changed(self, now: datetime) -> list[Order]:
        """The order and those of its group the change touched."""
        return [o for o in (self.order, *self.group) if o is not None and o.updated_at == now]


async def _locked(tx: Transaction, account_id: uuid.UUID, order_id: uuid.UUID) -> _Book:
    """The account, the order, its position and its group, locked in that order, in one round trip."""
    accounts, found, positions, group = await tx.read(
        [
            lock(Account, id=account_id),
            lock(Order, id=order_id),
            (_LOCK_POSITION_OF_ORDER, {"account": account_id, "order": order_id}),
            (_LOCK_GROUP_OF_ORDER, {"order": order_id}),
        ]
    )
    account = tx.load(Account, accounts[0] if accounts else None)
    order = tx.load(Order, found[0] if found else None)
    if order is not None and order.account_id != account_id:
        order = None
    position = tx.load(Position, positions[0] if positions else None)
    return _Book(account, order, position, [tx.load(Order, row) for row in group] if order else [])


async def _announce(bus: Bus, user_id: uuid.UUID, book: _Book, now: datetime) -> None:
    """Tell the user of every order the change touched, each parent with its legs."""
    everything = [o for o in (book.order, *book.group) if o is not None]
    for order in book.changed(now):
        await notify(bus, user_id, OrderPublic.of(order, rules.legs_of(order, everything)))


async def cancel(
    store: Store, bus: Bus, *, user_id: uuid.UUID, account_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> OrderPublic:
    async with store.transaction() as tx:
        book = await _locked(tx, account_id, order_id)
        account, order = book.account, book.order
        if account is None or account.user_id != user_id or order is None:
            raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
        if order.status != OrderStatus.PENDING:
            raise DomainError("ORDER_NOT_CANCELABLE", f"This order is {order.status} and can no longer be canceled.")
        rules.end_group(account, book.position, order, OrderStatus.CANCELED, now, book.group)
        await tx.commit()
    await _announce(bus, user_id, book, now)
    return OrderPublic.of(order, rules.legs_of(order, book.group))


async def replace_order(
    store: Store,
    bus: Bus,
    *,
    user_id: uuid.UUID,
    account_id: uuid.UUID,
    order_id: uuid.UUID,
    change: OrderReplace,
    market_of: Callable[[str], rules.Market],
    now: datetime,
) -> OrderPublic:
    """Swap a pending order for a changed one in one transaction (see rules.replace), against the market of its
    symbol (`market_of`), without the placement limit (`submit_replacement` is the one the front doors use)."""
    async with store.transaction() as tx:
        book = await _locked(tx, account_id, order_id)
        account, old = book.account, book.order
        if account is None or account.user_id != user_id or old is None:
            raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
        wanted, market = rules.replacement(old, change, book.group), market_of(old.symbol)
        if change.client_order_id is not None:
            await _refuse_taken_client_order_id(tx, account.id, change.client_order_id)
        await _refuse_if_league_forbids(tx, account, wanted, market, now, replacing=old.id)
        new, *others = rules.replace(old, wanted, account, book.position, book.group, market, now)
        tx.add(new)  # first: the old order and the new rows refer to it
        for row in others:
            tx.add(row)
        await tx.commit()
    await notify(bus, user_id, OrderPublic.of(old))
    public = OrderPublic.of(new)
    await notify(bus, user_id, public)
    return public


@dataclass(frozen=True)
class Replacement:
    order: OrderPublic  # the new order
    quota: rate_limits.Quota | None  # where the user stands against the placement limit, when one is set


async def submit_replacement(
    rt: "Runtime", *, user_id: uuid.UUID, account_id: uuid.UUID, order_id: uuid.UUID, change: OrderReplace
) -> Replacement:
    """Replace an order against this process's live market; it counts against the placement limit like a new
    order."""
    limit = rt.settings.order_rate_limit
    quota = await rate_limits.take(rt.cache, f"orders:{user_id}", limit=limit, what="orders") if limit else None
    try:
        order = await replace_order(
            rt.store,
            rt.bus,
            user_id=user_id,
            account_id=account_id,
            order_id=order_id,
            change=change,
            market_of=lambda symbol: rules.Market(rt.hub.latest.get(symbol), not rt.hub.stale, rt.clock),
            now=utcnow(),
        )
    except DomainError as exc:
        _tell_quota(exc, quota)
        raise
    return Replacement(order, quota)


async def fill(
    store: Store,
    bus: Bus,
    *,
    resting: Order,
    quote: Quote,
    clock: MarketClock,
    now: datetime,
    mark: Decimal | None = None,
) -> Order | None:
    """Fill a resting order if `quote` reaches it (a trailing stop having followed `mark`, the best price seen
    since it was last saved); each order fills at most once, whoever else tries. Returns the order as it is now
    (None if it is gone)."""
    if not clock.is_open(now):
        return resting
    async with store.transaction() as tx:
        book = await _locked(tx, resting.account_id, resting.id)
        account, order = book.account, book.order
        if order is None or order.status != OrderStatus.PENDING:  # another fill, cancel or expiry won the race
            return order
        filled = rules.try_fill(account, book.position, order, quote, now, mark, book.group)
        for row in filled or ():
            tx.add(row)
        await tx.commit()  # also when it rests: a stop_limit whose stop fired now keeps its `triggered_at`
    if filled is not None:
        await _announce(bus, account.user_id, book, now)
    return order


async def trail(store: Store, bus: Bus, *, resting: Order, mark: Decimal, now: datetime) -> Order | None:
    """Save where a trailing stop stands after the market moved to `mark`, so that every instance (and this one
    after a restart) trails from there, and tell the user. Returns the order as it is now (None if it is gone)."""
    async with store.transaction() as tx:
        book = await _locked(tx, resting.account_id, resting.id)
        order = book.order
        if order is None or order.status != OrderStatus.PENDING or not rules.follow(order, mark):
            return order
        order.updated_at = now
        await tx.commit()
    await notify(bus, book.account.user_id, OrderPublic.of(order))
    return order


async def expire(store: Store, bus: Bus, *, resting: Order, now: datetime) -> OrderPublic | None:
    """End a day order whose session has closed."""
    async with store.transaction() as tx:
        book = await _locked(tx, resting.account_id, resting.id)
        order = book.order
        if order is None or order.status != OrderStatus.PENDING or order.expires_at is None or order.expires_at > now:
            return None
        rules.end_group(book.account, book.position, order, OrderStatus.EXPIRED, now, book.group)
        await tx.commit()
    await _announce(bus, book.account.user_id, book, now)
    return OrderPublic.of(order, rules.legs_of(order, book.group))


# -- reading -------------------------------------------------------------------------------------------------------


def _owned(db: Session, account_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    order = db.exec(select(Order).where(Order.id == order_id, Order.account_id == account_id)).first()
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    return order


def shown(db: Session, found: list[Order]) -> list[OrderPublic]:
    """Orders as the API shows them: each parent with its legs."""
    parents = [o.id for o in found if o.order_class != OrderClass.SIMPLE and o.parent_id is None]
    legs: dict[uuid.UUID, list[Order]] = {}
    if parents:
        # Oldest first, and a take-profit (limit) before its stop-loss, as brokers list them.
        in_order = (Order.created_at, Order.order_type, Order.id)
        for leg in db.exec(select(Order).where(Order.parent_id.in_(parents)).order_by(*in_order)):
            legs.setdefault(leg.parent_id, []).append(leg)
    return [OrderPublic.of(order, legs.get(order.id)) for order in found]


def get(db: Session, *, account_id: uuid.UUID, order_id: uuid.UUID) -> OrderPublic:
    return shown(db, [_owned(db, account_id, order_id)])[0]


def get_by_client_order_id(db: Session, *, account_id: uuid.UUID, client_order_id: str) -> OrderPublic:
    query = select(Order).where(Order.account_id == account_id, Order.client_order_id == client_order_id)
    order = db.exec(query).first()
    if order is None:
        raise DomainError("ORDER_NOT_FOUND", "There is no such order.")
    return shown(db, [order])[0]


def list_orders(
    db: Session,
    *,
    account_id: uuid.UUID,
    status: str | None,
    limit: int,
    before: uuid.UUID | None = None,
    symbol: str | None = None,
    nested: bool = False,
) -> list[OrderPublic]:
    """Newest first; `before` continues a listing after the order with that id. Legs are listed like any order
    (each parent shows them too); `nested` lists only the parents, with their legs inside."""
    query = select(Order).where(Order.account_id == account_id)
    if nested:
        query = query.where(Order.parent_id.is_(None))
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
    return shown(db, list(rows))


def resting(db: Session) -> list[Order]:
    """Every pending order, for the execution engine's index."""
    return list(db.exec(select(Order).where(Order.status == OrderStatus.PENDING)))


def due_to_expire(db: Session, now: datetime) -> list[Order]:
    return list(db.exec(select(Order).where(Order.status == OrderStatus.PENDING, Order.expires_at <= now)))


def purge_idempotency(db: Session, before: datetime) -> None:
    """Keys are honoured for at least 24 h; older records go, so the table does not grow forever."""
    db.execute(IdempotencyRecord.__table__.delete().where(IdempotencyRecord.created_at < before))
    db.commit()
