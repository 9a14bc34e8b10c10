"""`/v2/positions`: the account's holdings valued at the latest quotes, and closing them with market sells placed
like any other order (so they are the same orders on /api, /ws and in the UI)."""

import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.alpaca import errors, params
from api.alpaca.errors import AlpacaError, invalid, not_found
from api.alpaca.orders import cancel_open_orders, place
from api.alpaca.shapes import Order, Position, asset_id, fraction, listing_by_id, text
from api.deps import CurrentAccount, CurrentCaller, DbDep
from models.account import Position as PositionRow
from models.market import Quote
from models.order import OrderCreate
from models.types import QUANTITY
from services import runtime
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.market import symbols
from services.trading import portfolio

router = APIRouter()

NO_POSITION = "position does not exist"
_SHARE = Decimal(1).scaleb(-QUANTITY)


def _position(row: PositionRow, valued: portfolio.PositionValue, quote: Quote | None) -> Position:
    intraday_base = valued.market_value - valued.day_change
    return Position(
        asset_id=asset_id(row.symbol),
        symbol=row.symbol,
        avg_entry_price=text(valued.avg_cost),
        qty=text(row.quantity),
        qty_available=text(row.quantity - row.reserved_quantity),
        market_value=text(valued.market_value),
        cost_basis=text(row.cost_basis),
        unrealized_pl=text(valued.unrealized_pnl),
        unrealized_plpc=fraction(valued.unrealized_pnl, row.cost_basis),
        unrealized_intraday_pl=text(valued.day_change),
        unrealized_intraday_plpc=fraction(valued.day_change, intraday_base),
        current_price=text(valued.last_price),
        lastday_price=text(quote.prev_close) if quote else None,
        change_today=fraction(quote.change, quote.prev_close) if quote else "0",
    )


def _positions(db, account_id: uuid.UUID) -> list[Position]:
    quotes = runtime.current().hub.latest
    book = portfolio.load(db, account_id)
    held = [row for row in book.positions if row.quantity > 0]
    valued = portfolio.appraise(book, quotes).positions  # the same positions, in the same order
    return [_position(row, value, quotes.get(row.symbol)) for row, value in zip(held, valued, strict=True)]


def _symbol(symbol_or_asset_id: str) -> str:
    listing = symbols.get(symbol_or_asset_id) or listing_by_id(symbol_or_asset_id)
    if listing is None:
        raise not_found(NO_POSITION)
    return listing.symbol


@router.get("/v2/positions")
def list_positions(account_id: CurrentAccount, db: DbDep) -> list[Position]:
    return _positions(db, account_id)


@router.get("/v2/positions/{symbol_or_asset_id}")
def get_position(symbol_or_asset_id: str, account_id: CurrentAccount, db: DbDep) -> Position:
    symbol = _symbol(symbol_or_asset_id)
    found = next((p for p in _positions(db, account_id) if p.symbol == symbol), None)
    if found is None:
        raise not_found(NO_POSITION)
    return found


def _quantity_to_close(held: Decimal, qty: str | None, percentage: str | None) -> Decimal:
    if qty is not None and percentage is not None:
        raise invalid("only one of qty or percentage may be given")
    try:
        if qty is not None:
            wanted = Decimal(qty)
            if not wanted.is_finite() or wanted <= 0 or wanted > held:
                raise invalid(f"qty must be > 0 and at most the position's {text(held)}")
            return wanted
        if percentage is not None:
            share = Decimal(percentage)
            if not share.is_finite() or not 0 < share <= 100:
                raise invalid("percentage must be > 0 and at most 100")
            return (held * share / 100).quantize(_SHARE, rounding=ROUND_DOWN)
    except ArithmeticError:
        raise invalid("qty and percentage must be numbers") from None
    return held


async def _close(user_id: uuid.UUID, account_id: uuid.UUID, symbol: str, qty=None, percentage=None) -> Order:
    with session_scope(runtime.current().engine) as db:
        row = db.get(PositionRow, (account_id, symbol))
    if row is None or row.quantity <= 0:
        raise not_found(NO_POSITION)
    quantity = _quantity_to_close(row.quantity, qty, percentage)
    if quantity <= 0:
        raise invalid("the percentage leaves nothing to sell")
    sell = OrderCreate(
        symbol=symbol, side="sell", order_type="market", quantity=quantity, client_order_id=str(uuid.uuid4())
    )
    return await place(user_id, account_id, sell)


@router.delete("/v2/positions/{symbol_or_asset_id}")
async def close_position(
    symbol_or_asset_id: str,
    caller: CurrentCaller,
    account_id: CurrentAccount,
    qty: Annotated[str | None, Query()] = None,
    percentage: Annotated[str | None, Query()] = None,
) -> Order:
    """Sell the position (or `qty` shares, or `percentage` of it) at market: 200 with the order placed."""
    return await _close(caller.user.id, account_id, _symbol(symbol_or_asset_id), qty, percentage)


@router.delete("/v2/positions", status_code=207)
async def close_all_positions(
    caller: CurrentCaller, account_id: CurrentAccount, cancel_orders: Annotated[str | None, Query()] = None
) -> JSONResponse:
    """Sell every position at market (first canceling open orders with `cancel_orders=true`): 207 with one
    `{symbol, status, body}` per position, `[]` when flat."""
    if params.flag(cancel_orders):
        await cancel_open_orders(caller.user.id, account_id)
    with session_scope(runtime.current().engine) as db:
        held = [p.symbol for p in portfolio.load(db, account_id).positions if p.quantity > 0]
    results = []
    for symbol in held:
        try:
            status, body = 200, (await _close(caller.user.id, account_id, symbol)).model_dump(mode="json")
        except (AlpacaError, DomainError) as exc:
            status, body = errors.body(exc)
        results.append({"symbol": symbol, "status": status, "body": body})
    return JSONResponse(results, status_code=207)
