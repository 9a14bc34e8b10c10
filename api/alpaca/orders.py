"""`/v2/orders`: place, list, read (by id or client_order_id) and cancel orders — the same orders as /api/orders,
placed and canceled by the same services, so each is one order everywhere (REST, /ws, the UI)."""

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from api.alpaca import errors, params
from api.alpaca.errors import AlpacaError, forbidden, invalid
from api.alpaca.shapes import Order, listing_by_id, order_status, text
from api.deps import CurrentAccount, CurrentCaller, DbDep
from models.account import Position
from models.order import MAX_CLIENT_ORDER_ID, OrderCreate, OrderType, TimeInForce
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
_SHERWOOD_FIELD = {
    "quantity": "qty",
    "limitPrice": "limit_price",
    "stopPrice": "stop_price",
    "trailPrice": "trail_price",
    "trailPercent": "trail_percent",
}


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


def _not_yet(what: str) -> AlpacaError:
    return invalid(f"{what} is not supported")


def _refuse_other_kinds(body: OrderRequest) -> None:
    """The kinds Sherwood's /api does not place yet: bracket, oco and oto classes (and opg/cls auctions) map onto
    OrderCreate here once it takes them; until then a clean 422."""
    if body.order_class not in (None, "", "simple"):
        raise _not_yet(f"order_class {body.order_class}")
    if body.time_in_force in ("opg", "cls"):
        raise _not_yet(f"time_in_force {body.time_in_force}")


def _order_create(body: OrderRequest) -> OrderCreate:
    kind = (body.type or body.order_type or "").strip()
    _refuse_other_kinds(body)
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
            limit_price=body.limit_price,
            stop_price=body.stop_price,
            trail_price=body.trail_price,
            trail_percent=body.trail_percent,
            time_in_force=body.time_in_force,
            client_order_id=body.client_order_id or str(uuid.uuid4()),  # Alpaca names every order
        )
    except ValidationError as exc:
        raise invalid(_validation_message(exc)) from None


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = (err.get("ctx") or {}).get("field") or ".".join(str(p) for p in err["loc"])
        message = err["msg"]
        for sherwood, alpaca in _SHERWOOD_FIELD.items():
            field, message = field.replace(sherwood, alpaca), message.replace(sherwood, alpaca)
        problems.append(message if message.startswith(field) else f"{field} {message}")
    return "; ".join(problems)


def _shares_refusal(account_id: uuid.UUID, wanted: OrderCreate) -> AlpacaError:
    """Alpaca's words for a sell of shares not held (or held for other orders), with its extra keys."""
    with session_scope(runtime.current().engine) as db:
        position = db.get(Position, (account_id, wanted.symbol))
    held = position.quantity if position else Decimal(0)
    reserved = position.reserved_quantity if position else Decimal(0)
    available = rules.available_shares(position)
    return forbidden(
        f"insufficient qty available for order (requested: {text(wanted.quantity)}, available: {text(available)})",
        available=text(available),
        existing_qty=text(held),
        held_for_orders=text(reserved),
        symbol=wanted.symbol,
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
            raise _shares_refusal(account_id, wanted) from None
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
    params.flag(nested)  # no Sherwood order has legs yet: nested and flat listings are the same
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
        state = order_status(order.status, order.filled_quantity)
        raise AlpacaError(422, 42210000, f'order is already in "{state}" state') from None
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


@router.patch("/v2/orders/{order_id}")
def replace_order(order_id: str, _account_id: CurrentAccount) -> Order:
    """Replacing an order arrives with the order kinds of /api (PATCH /api/orders/{id}); until then a clean 422."""
    _order_id(order_id)
    raise _not_yet("replacing an order")
