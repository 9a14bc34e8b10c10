"""`/v2/orders`: place, list, read (by id or client_order_id) and cancel orders — the same orders as /api/orders,
placed and canceled by the same services, so each is one order everywhere (REST, /ws, the UI)."""

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from api.alpaca import errors, params
from api.alpaca.errors import AlpacaError, alpaca_words, forbidden, invalid
from api.alpaca.shapes import Order, listing_by_id, order_status, text
from api.deps import CurrentAccount, CurrentCaller, DbDep
from models.account import Position
from models.order import MAX_CLIENT_ORDER_ID, OrderCreate, OrderPublic, OrderReplace, OrderType, TimeInForce
from models.types import utcnow
from services import runtime
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.market import symbols
from services.trading import order_search, orders, rules

router = APIRouter()

MAX_LIST = 500
SUPPORTED_TYPES = tuple(OrderType)
SUPPORTED_TIME_IN_FORCE = tuple(TimeInForce)


class OrderRequest(BaseModel):
    """What alpaca-py, alpaca-trade-api and Lumibot send: numbers or decimal strings; unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")

    symbol: str
    side: str
    type: str | None = None
    order_type: str | None = None  # older clients' name for `type`
    time_in_force: str = "day"
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool | None = None
    client_order_id: str | None = None
    order_class: str | None = None
    take_profit: dict[str, Any] | None = None
    stop_loss: dict[str, Any] | None = None


class _Exit(BaseModel):
    """A `take_profit` or `stop_loss` as Alpaca's clients send it."""

    model_config = ConfigDict(extra="ignore")

    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


_CLASSES = ("simple", "bracket", "oco", "oto")


def _exits(body: OrderRequest) -> dict[str, Any]:
    """Alpaca's `order_class` with its `take_profit` / `stop_loss` in Sherwood's terms. An OCO is Alpaca's as
    Sherwood's: the order is the take-profit limit (its price may come as `take_profit.limit_price`) and its leg
    the stop-loss."""
    order_class = body.order_class or "simple"
    if order_class not in _CLASSES:
        raise invalid(f"invalid order_class: {order_class}")
    try:
        take_profit = _Exit.model_validate(body.take_profit) if body.take_profit is not None else None
        stop_loss = _Exit.model_validate(body.stop_loss) if body.stop_loss is not None else None
    except ValidationError as exc:
        raise invalid(_validation_message(exc)) from None
    limit_price = body.limit_price
    if order_class == "oco" and take_profit is not None:
        if limit_price is not None and take_profit.limit_price not in (None, limit_price):
            raise invalid("limit_price and take_profit.limit_price of an oco order must match")
        limit_price, take_profit = take_profit.limit_price if limit_price is None else limit_price, None
    return {
        "order_class": order_class,
        "limit_price": limit_price,
        "take_profit": take_profit.model_dump(include={"limit_price"}) if take_profit else None,
        "stop_loss": stop_loss.model_dump() if stop_loss else None,
    }


def _order_create(body: OrderRequest) -> OrderCreate:
    kind = (body.type or body.order_type or "").strip()
    if body.time_in_force in ("opg", "cls"):  # Sherwood holds no opening or closing auction
        raise invalid(f"time_in_force {body.time_in_force} is not supported")
    if kind not in SUPPORTED_TYPES:
        raise invalid(f"invalid order type: {kind or 'missing'}")
    if body.side not in ("buy", "sell"):
        raise invalid(f"invalid side: {body.side}")
    if body.time_in_force not in SUPPORTED_TIME_IN_FORCE:
        raise invalid(f"invalid time_in_force: {body.time_in_force}")
    if body.qty is None and body.notional is None:
        raise invalid("qty or notional is required")
    if body.extended_hours and (kind != "limit" or body.time_in_force != "day"):
        raise invalid("extended hours order must be DAY limit orders")
    if body.client_order_id is not None and not 1 <= len(body.client_order_id) <= MAX_CLIENT_ORDER_ID:
        raise invalid(f"client_order_id must be 1-{MAX_CLIENT_ORDER_ID} characters")
    listing = listing_by_id(body.symbol)  # a symbol, or an asset id
    try:
        return OrderCreate(
            symbol=listing.symbol if listing else body.symbol,
            side=body.side,
            order_type=kind,
            quantity=body.qty,
            notional=body.notional,
            stop_price=body.stop_price,
            trail_price=body.trail_price,
            trail_percent=body.trail_percent,
            time_in_force=body.time_in_force,
            client_order_id=body.client_order_id or str(uuid.uuid4()),  # Alpaca names every order
            **_exits(body),
        )
    except ValidationError as exc:
        raise invalid(_validation_message(exc)) from None


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = alpaca_words((err.get("ctx") or {}).get("field") or ".".join(str(p) for p in err["loc"]))
        message = alpaca_words(err["msg"])
        problems.append(message if message.startswith(field) else f"{field} {message}")
    return "; ".join(problems)


def _shares_refusal(account_id: uuid.UUID, symbol: str, quantity: Decimal | None) -> AlpacaError:
    """Alpaca's words for a sell of shares not held (or held for other orders), with its extra keys."""
    with session_scope(runtime.current().engine) as db:
        position = db.get(Position, (account_id, symbol))
    held = position.quantity if position else Decimal(0)
    reserved = position.reserved_quantity if position else Decimal(0)
    available = rules.available_shares(position)
    return forbidden(
        f"insufficient qty available for order (requested: {text(quantity)}, available: {text(available)})",
        available=text(available),
        existing_qty=text(held),
        held_for_orders=text(reserved),
        symbol=symbol,
    )


async def place(user_id: uuid.UUID, account_id: uuid.UUID, wanted: OrderCreate) -> Order:
    """Place an order through the services, as /api does; Alpaca's words for a refusal."""
    key = f"alpaca:{uuid.uuid4()}"  # a repeat is told by its client_order_id (422), never replayed by a key
    try:
        placement = await orders.submit(
            runtime.current(), user_id=user_id, account_id=account_id, key=key, request=wanted
        )
    except DomainError as exc:
        if exc.code == "INSUFFICIENT_SHARES":
            raise _shares_refusal(account_id, wanted.symbol, wanted.quantity) from None
        raise
    return Order.of(orders.order_of(placement))


@router.post("/v2/orders")
async def submit_order(body: OrderRequest, caller: CurrentCaller, account_id: CurrentAccount) -> Order:
    """Place an order; 200 with the order, as Alpaca answers."""
    return await place(caller.user.id, account_id, _order_create(body))


@router.get("/v2/orders")
def list_orders(
    account_id: CurrentAccount,
    db: DbDep,
    status: Annotated[str, Query()] = "open",
    limit: Annotated[int, Query(ge=1)] = 50,
    after: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    direction: Annotated[str, Query()] = "desc",
    nested: Annotated[str | None, Query()] = None,
    side: Annotated[str | None, Query()] = None,
    symbols_: Annotated[str | None, Query(alias="symbols")] = None,
) -> list[Order]:
    """Open (default), closed or all orders, newest first unless `direction=asc`; at most `limit` (500)."""
    wanted_status = status.lower()
    if wanted_status not in ("open", "closed", "all"):
        raise invalid(f"invalid status: {status}")
    if direction.lower() not in ("asc", "desc"):
        raise invalid(f"invalid direction: {direction}")
    if side is not None and side not in ("buy", "sell"):
        raise invalid(f"invalid side: {side}")
    found = order_search.search(
        db,
        account_id=account_id,
        is_open={"open": True, "closed": False, "all": None}[wanted_status],
        limit=min(limit, MAX_LIST),
        after=params.moment(after, "after"),
        until=params.moment(until, "until"),
        oldest_first=direction.lower() == "asc",
        symbols=[symbols.normalize(s) for s in params.names(symbols_)] or None,
        side=side,
        nested=params.flag(nested),
    )
    return [Order.of(order) for order in found]


@router.get("/v2/orders:by_client_order_id")
def get_order_by_client_order_id(client_order_id: str, account_id: CurrentAccount, db: DbDep) -> Order:
    return Order.of(orders.get_by_client_order_id(db, account_id=account_id, client_order_id=client_order_id))


def _order_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise invalid("order_id is missing") from None  # what Alpaca answers to an id that is not a UUID


@router.get("/v2/orders/{order_id}")
def get_order(order_id: str, account_id: CurrentAccount, db: DbDep, nested: str | None = None) -> Order:
    """One order, a parent with its legs inside (`nested` or not)."""
    params.flag(nested)
    return Order.of(orders.get(db, account_id=account_id, order_id=_order_id(order_id)))


async def _cancel(user_id: uuid.UUID, account_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    rt = runtime.current()
    try:
        canceled = await orders.cancel(
            rt.store, rt.bus, user_id=user_id, account_id=account_id, order_id=order_id, now=utcnow()
        )
    except DomainError as exc:
        if exc.code != "ORDER_NOT_CANCELABLE":
            raise
        with session_scope(rt.engine) as db:
            order = orders.get(db, account_id=account_id, order_id=order_id)
        raise _not_open(order, exc) from None
    return Order.of(canceled)


@router.delete("/v2/orders/{order_id}", status_code=204)
async def cancel_order(order_id: str, caller: CurrentCaller, account_id: CurrentAccount) -> Response:
    """Cancel an open order: 204, empty, as Alpaca answers (the canceled order arrives on trade_updates)."""
    await _cancel(caller.user.id, account_id, _order_id(order_id))
    return Response(status_code=204)


async def cancel_open_orders(user_id: uuid.UUID, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """Cancel every open order of the account: one `{id, status, body}` per order, as Alpaca's 207 lists them."""
    with session_scope(runtime.current().engine) as db:
        found = order_search.search(db, account_id=account_id, is_open=True, limit=10_000, oldest_first=True)
    results = []
    for order in found:
        try:
            status, body = 200, (await _cancel(user_id, account_id, order.id)).model_dump(mode="json")
        except (AlpacaError, DomainError) as exc:
            status, body = errors.body(exc)
        results.append({"id": str(order.id), "status": status, "body": body})
    return results


@router.delete("/v2/orders", status_code=207)
async def cancel_all_orders(caller: CurrentCaller, account_id: CurrentAccount) -> JSONResponse:
    """Cancel every open order: 207 with one `{id, status, body}` per order (`[]` when none was open)."""
    return JSONResponse(await cancel_open_orders(caller.user.id, account_id), status_code=207)


class ReplaceRequest(BaseModel):
    """alpaca-py's ReplaceOrderRequest: every field optional; `trail` is the new trail_price or trail_percent,
    whichever the order trails by."""

    model_config = ConfigDict(extra="ignore")

    qty: Decimal | None = None
    time_in_force: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail: Decimal | None = None
    client_order_id: str | None = None


def _ended(order: OrderPublic) -> AlpacaError:
    """A cancel or replace of an order that is no longer open: Alpaca names its state."""
    state = order_status(order.status, order.filled_quantity)
    return AlpacaError(422, 42210000, f'order is already in "{state}" state')


def _not_open(order: OrderPublic, refusal: DomainError) -> AlpacaError:
    """Sherwood found the order not open (a parent whose legs are active is pending yet cannot be replaced: its
    words then)."""
    return AlpacaError(422, 42210000, refusal.message) if order.status == "pending" else _ended(order)


def _change(body: ReplaceRequest, old: OrderPublic) -> dict[str, Any]:
    """The PATCH in Sherwood's field names, only what it changes; 403 when it changes nothing, as Alpaca says."""
    change: dict[str, Any] = {
        "quantity": body.qty,
        "limit_price": body.limit_price,
        "stop_price": body.stop_price,
        "time_in_force": body.time_in_force,
    }
    if body.time_in_force is not None and body.time_in_force not in SUPPORTED_TIME_IN_FORCE:
        raise invalid(f"invalid time_in_force: {body.time_in_force}")
    if body.trail is not None:
        if old.order_type != OrderType.TRAILING_STOP:
            raise invalid("trail is only for trailing_stop orders")
        change["trail_percent" if old.trail_percent is not None else "trail_price"] = body.trail
    change = {name: value for name, value in change.items() if value is not None}
    if all(getattr(old, name) == value for name, value in change.items()):
        raise forbidden("order parameters are not changed")
    return change


@router.patch("/v2/orders/{order_id}")
async def replace_order(
    order_id: str, body: ReplaceRequest, caller: CurrentCaller, account_id: CurrentAccount
) -> Order:
    """Replace an open order: 200 with the new order, which `replaces` the old; the old one is `replaced` with
    `replaced_by` (trade_updates tells `replaced` for the old, then `new` for the new)."""
    rt, wanted = runtime.current(), _order_id(order_id)
    with session_scope(rt.engine) as db:
        old = orders.get(db, account_id=account_id, order_id=wanted)
    if old.status != "pending":
        raise _ended(old)
    if body.client_order_id is not None and not 1 <= len(body.client_order_id) <= MAX_CLIENT_ORDER_ID:
        raise invalid(f"client_order_id must be 1-{MAX_CLIENT_ORDER_ID} characters")
    try:
        change = OrderReplace(**_change(body, old), client_order_id=body.client_order_id or str(uuid.uuid4()))
    except ValidationError as exc:
        raise invalid(_validation_message(exc)) from None
    try:
        replacement = await orders.submit_replacement(
            rt, user_id=caller.user.id, account_id=account_id, order_id=wanted, change=change
        )
    except DomainError as exc:
        if exc.code == "ORDER_NOT_CANCELABLE":
            raise _not_open(old, exc) from None
        if exc.code == "INSUFFICIENT_SHARES":
            raise _shares_refusal(account_id, old.symbol, change.quantity or old.quantity) from None
        raise
    return Order.of(replacement.order)
