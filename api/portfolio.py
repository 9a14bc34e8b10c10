"""`/api/portfolio`: the account valued at live prices, and its equity over time."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import CurrentAccount, DbDep
from api.errors import documented
from models.types import utcnow
from models.user import CamelModel
from services import runtime
from services.trading import portfolio

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])

Range = Literal["1D", "1W", "1M", "3M", "1Y", "ALL"]


class PortfolioHistory(CamelModel):
    range: Range
    points: list[portfolio.EquityPoint]


@router.get("", responses=documented(401, 404))
def get_portfolio(account_id: CurrentAccount, db: DbDep) -> portfolio.Portfolio:
    return portfolio.value(db, account_id, runtime.current().hub.latest)


@router.get("/history", responses=documented(400, 401, 404))
def get_history(
    account_id: CurrentAccount, db: DbDep, range_: Annotated[Range, Query(alias="range")] = "1D"
) -> PortfolioHistory:
    current = portfolio.value(db, account_id, runtime.current().hub.latest).equity
    points = portfolio.history(db, account_id, range_, now=utcnow(), current=current)
    return PortfolioHistory(range=range_, points=points)
