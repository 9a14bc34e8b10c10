"""`GET /v2/account`: the key's account as Alpaca describes a cash account (multiplier 1, no shorting); and its
configuration, which a Sherwood paper account has fixed."""

from fastapi import APIRouter

from api.alpaca.shapes import Account, AccountConfiguration, text, ts
from api.deps import CurrentAccount, DbDep
from models.account import Account as AccountRow
from models.types import utcnow
from services import runtime
from services.market.clock import NEW_YORK
from services.trading import portfolio

router = APIRouter()


@router.get("/v2/account")
def get_account(account_id: CurrentAccount, db: DbDep) -> Account:
    now = utcnow()
    row = db.get(AccountRow, account_id)
    book = portfolio.load(db, account_id, now=now)
    valued = portfolio.appraise(book, runtime.current().hub.latest)
    buying_power = text(valued.buying_power)
    return Account(
        id=row.id,
        account_number="PA" + row.id.hex[:10].upper(),
        cash=text(valued.cash),
        buying_power=buying_power,
        regt_buying_power=buying_power,
        non_marginable_buying_power=buying_power,
        effective_buying_power=buying_power,
        equity=text(valued.equity),
        last_equity=text(book.day_open if book.day_open is not None else valued.equity),
        portfolio_value=text(valued.equity),
        long_market_value=text(valued.market_value),
        position_market_value=text(valued.market_value),
        balance_asof=now.astimezone(NEW_YORK).date().isoformat(),
        created_at=ts(row.created_at),
    )


@router.get("/v2/account/configurations")
def get_configurations(_account_id: CurrentAccount) -> AccountConfiguration:
    return AccountConfiguration()


@router.patch("/v2/account/configurations")
def set_configurations(_account_id: CurrentAccount) -> AccountConfiguration:
    """A Sherwood account's configuration does not change (cash, fractional, no shorting): answered as it stands."""
    return AccountConfiguration()
