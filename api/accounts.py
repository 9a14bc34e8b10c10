"""`/api/accounts`: a user's paper accounts: list, open another, rename, make default, reset, close."""

import uuid

from fastapi import APIRouter, Response, status

from api.deps import CurrentUser, DbDep
from api.errors import documented
from models.account import Account, AccountChange, AccountCreate, AccountEnvelope, AccountList, AccountPublic
from models.order import OrderPublic
from models.types import utcnow
from services import accounts, orders, portfolio, runtime

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


def _public(db, account: Account) -> AccountPublic:
    valued = portfolio.value(db, account.id, runtime.current().hub.latest)
    return AccountPublic(
        id=account.id,
        name=account.name,
        kind=account.kind,
        league_id=account.league_id,
        is_default=account.is_default,
        cash=account.cash,
        buying_power=valued.buying_power,
        equity=valued.equity,
        starting_cash=account.starting_cash,
        created_at=account.created_at,
    )


def _tell(user_id: uuid.UUID, canceled: list) -> None:
    bus = runtime.current().bus
    for order in canceled:
        orders.notify(bus, user_id, OrderPublic.of(order))


@router.get("", responses=documented(401, 403))
def list_accounts(user: CurrentUser, db: DbDep) -> AccountList:
    """Your open accounts, the default first."""
    return AccountList(accounts=[_public(db, a) for a in accounts.list_accounts(db, user.id)])


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(400, 401, 403, 409))
def open_account(body: AccountCreate, user: CurrentUser, db: DbDep) -> AccountEnvelope:
    """Open another personal account with the platform's starting cash (at most 5 personal accounts)."""
    cash = runtime.current().settings.starting_cash
    account = accounts.open_personal(db, user_id=user.id, name=body.name, starting_cash=cash, now=utcnow())
    return AccountEnvelope(account=_public(db, account))


@router.patch("/{account_id}", responses=documented(400, 401, 403, 404))
def change_account(account_id: str, body: AccountChange, user: CurrentUser, db: DbDep) -> AccountEnvelope:
    """Rename an account, or make it the default (`isDefault: true`)."""
    account = accounts.change(
        db,
        user_id=user.id,
        account_id=accounts.parse_id(account_id),
        name=body.name,
        make_default=bool(body.is_default),
        now=utcnow(),
    )
    return AccountEnvelope(account=_public(db, account))


@router.post("/{account_id}/reset", responses=documented(401, 403, 404, 409))
def reset_account(account_id: str, user: CurrentUser, db: DbDep) -> AccountEnvelope:
    """Cancel resting orders, clear positions and set the cash back to the starting cash; orders stay listed."""
    account, canceled = accounts.reset(db, user_id=user.id, account_id=accounts.parse_id(account_id), now=utcnow())
    _tell(user.id, canceled)
    return AccountEnvelope(account=_public(db, account))


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404, 409))
def close_account(account_id: str, user: CurrentUser, db: DbDep) -> Response:
    """Close a personal account that is not your default: its resting orders are canceled, its API keys die."""
    rt = runtime.current()
    canceled = accounts.close(
        db, rt.cache, rt.bus, user_id=user.id, account_id=accounts.parse_id(account_id), now=utcnow()
    )
    _tell(user.id, canceled)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
