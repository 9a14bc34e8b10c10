"""`GET /v2/account/portfolio/history`: the account's recorded equity (Sherwood's portfolio history) over a
period, one point per `timeframe` bucket (its last equity), with profit and loss against the period's first."""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.alpaca.errors import invalid
from api.deps import CurrentAccount, DbDep
from models.types import utcnow
from services import runtime
from services.trading import portfolio

router = APIRouter()

_PERIOD = re.compile(r"^(\d+)([DWMA])$", re.IGNORECASE)
_DAYS = {"D": 1, "W": 7, "M": 31, "A": 366}
# Sherwood's history ranges, shortest first, and how many days each covers.
_RANGES = (("1D", 1), ("1W", 7), ("1M", 31), ("3M", 92), ("1Y", 366))
_TIMEFRAMES = {
    "1Min": timedelta(minutes=1),
    "5Min": timedelta(minutes=5),
    "15Min": timedelta(minutes=15),
    "1H": timedelta(hours=1),
    "1D": timedelta(days=1),
}


def _range(period: str) -> tuple[str, int]:
    found = _PERIOD.match(period.strip())
    if found is None:
        raise invalid(f"invalid period: {period}")
    days = int(found[1]) * _DAYS[found[2].upper()]
    return next(((name, span) for name, span in _RANGES if days <= span), ("ALL", days))


def _buckets(points: list[portfolio.EquityPoint], size: timedelta) -> list[tuple[int, Decimal]]:
    """The last equity of each bucket, stamped with the bucket's start in epoch seconds."""
    step = int(size.total_seconds())
    last: dict[int, Decimal] = {}
    for point in points:
        last[int(point.t.timestamp()) // step * step] = point.equity
    return sorted(last.items())


@router.get("/v2/account/portfolio/history")
def portfolio_history(
    account_id: CurrentAccount,
    db: DbDep,
    period: Annotated[str, Query()] = "1M",
    timeframe: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Equity as JSON numbers (alpaca-py wants numbers here; they are made only on the way out), `timestamp` in
    epoch seconds; `cashflow` is `{}` (no transfers in Sherwood)."""
    range_name, days = _range(period)
    frame = timeframe or ("5Min" if days <= 1 else "15Min" if days <= 7 else "1D")
    if frame not in _TIMEFRAMES:
        raise invalid(f"invalid timeframe: {timeframe}")
    now = utcnow()
    current = portfolio.value(db, account_id, runtime.current().hub.latest).equity
    points = portfolio.history(db, account_id, range_name, now=now, current=current)
    if range_name == "ALL" and days:  # a period beyond a year: the recorded history within it
        since = now - timedelta(days=days)
        points = [p for p in points if p.t >= since] or points[-1:]
    series = _buckets(points, _TIMEFRAMES[frame])
    base = points[0].equity  # where the period started, before its first bucket closed
    return {
        "timestamp": [t for t, _ in series],
        "equity": [float(equity) for _, equity in series],
        "profit_loss": [float(equity - base) for _, equity in series],
        "profit_loss_pct": [float((equity - base) / base) if base else 0.0 for _, equity in series],
        "base_value": float(base),
        "timeframe": frame,
        "cashflow": {},
    }
