"""`GET /v2/account/activities[/{activity_type}]`: the account's fills (FILL) and its cash movements that are no
trade (CSD for the opening deposit, JNLC for a reset), newest first, paged by the id of the last item."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.alpaca import params
from api.alpaca.errors import invalid
from api.alpaca.shapes import text, ts
from api.deps import CurrentAccount, DbDep
from models.account import LedgerKind
from services.market.clock import NEW_YORK
from services.trading.activities import Activity, activities

router = APIRouter()

MAX_PAGE = 100
_CASH_TYPE = {LedgerKind.DEPOSIT: "CSD", LedgerKind.RESET: "JNLC"}
_DESCRIPTION = {LedgerKind.DEPOSIT: "opening deposit", LedgerKind.RESET: "account reset to its starting cash"}
_STAMP = "%Y%m%d%H%M%S%f"


def _id(activity: Activity) -> str:
    return f"{activity.at.astimezone(UTC).strftime(_STAMP)}::{activity.key}"


def _after_token(token: str) -> datetime:
    """The time of the item a page token names (its id); the next page starts past it."""
    try:
        return datetime.strptime(token.split("::", 1)[0], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        raise invalid("invalid page_token") from None


def _render(activity: Activity, account_id: str) -> dict[str, Any]:
    if activity.fill is not None:
        order = activity.fill
        return {
            "id": _id(activity),
            "account_id": account_id,
            "activity_type": "FILL",
            "transaction_time": ts(activity.at),
            "type": "fill",
            "price": text(order.avg_fill_price),
            "qty": text(order.filled_quantity),
            "side": order.side,
            "symbol": order.symbol,
            "leaves_qty": "0",
            "cum_qty": text(order.filled_quantity),
            "order_id": str(order.id),
            "order_status": "filled",
        }
    return {
        "id": _id(activity),
        "account_id": account_id,
        "activity_type": _CASH_TYPE[activity.cash_kind],
        "date": activity.at.astimezone(NEW_YORK).date().isoformat(),
        "net_amount": text(activity.amount),
        "description": _DESCRIPTION[activity.cash_kind],
        "status": "executed",
        "symbol": None,
        "qty": None,
        "per_share_amount": None,
    }


def _list(
    db, account_id, types: list[str], date, after, until, direction: str, page_size: int | None, page_token
) -> list[dict[str, Any]]:
    unknown = [t for t in types if t not in ("FILL", *_CASH_TYPE.values())]
    wanted = set(types) - set(unknown) if types else {"FILL", *_CASH_TYPE.values()}
    if direction.lower() not in ("asc", "desc"):
        raise invalid(f"invalid direction: {direction}")
    oldest_first = direction.lower() == "asc"
    start, end = params.moment(after, "after"), params.moment(until, "until")
    if date:
        day = params.day(date, "date")
        start = datetime.combine(day, datetime.min.time(), tzinfo=NEW_YORK).astimezone(UTC) - timedelta(microseconds=1)
        end = start + timedelta(days=1, microseconds=1)
    if page_token:
        past = _after_token(page_token)
        start, end = (past, end) if oldest_first else (start, past)
    size = min(page_size or MAX_PAGE, MAX_PAGE)
    if size < 1:
        raise invalid("page_size must be at least 1")
    found = activities(
        db,
        account_id=account_id,
        fills="FILL" in wanted,
        cash=bool(wanted & set(_CASH_TYPE.values())),
        after=start,
        until=end,
        oldest_first=oldest_first,
        limit=size,
    )
    kinds = {kind for kind, name in _CASH_TYPE.items() if name in wanted}
    return [_render(a, str(account_id)) for a in found if a.fill is not None or a.cash_kind in kinds]


@router.get("/v2/account/activities")
def list_activities(
    account_id: CurrentAccount,
    db: DbDep,
    activity_types: Annotated[str | None, Query()] = None,
    date: Annotated[str | None, Query()] = None,
    after: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    direction: Annotated[str, Query()] = "desc",
    page_size: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    types = params.names(activity_types)
    return _list(db, account_id, types, date, after, until, direction, page_size, page_token)


@router.get("/v2/account/activities/{activity_type}")
def list_activities_of_type(
    activity_type: str,
    account_id: CurrentAccount,
    db: DbDep,
    date: Annotated[str | None, Query()] = None,
    after: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    direction: Annotated[str, Query()] = "desc",
    page_size: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    return _list(db, account_id, [activity_type.upper()], date, after, until, direction, page_size, page_token)
