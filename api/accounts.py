"""`/api/accounts`: a user's paper accounts: list, open another, rename, make default, reset, close."""

import uuid

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DbDep
from api.errors import documented
from models.account import Account, AccountChange, AccountCreate, AccountEnvelope, AccountList, AccountPublic
from models.types import utcnow
from services import runtime
from services.infra.db import session_scope
from services.trading import accounts

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


def _public_of(account_id: uuid.UUID) -> AccountPublic:
    with session_scope(runtime.current().engine) as db:
        return _public(db, db.get(Account, account_id))


def _public(db, account: Account) -> AccountPublic:
    return accounts.public(db, account, runtime.current().hub.latest)


@router.get("", responses=documented(401, 403))
def list_accounts(user: CurrentUser, db: DbDep) -> AccountList:
    """Your open accounts, the default first."""
    return AccountList(accounts=accounts.list_public(db, user.id, runtime.current().hub.latest))


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
async def reset_account(account_id: str, user: CurrentUser) -> AccountEnvelope:
    """Cancel resting orders, clear positions and set the cash back to the starting cash; orders stay listed."""
    rt, chosen = runtime.current(), accounts.parse_id(account_id)
    account, canceled = await accounts.reset(rt.store, user_id=user.id, account_id=chosen, now=utcnow())
    await accounts.announce_canceled(rt.bus, user.id, canceled)
    return AccountEnvelope(account=await run_in_threadpool(_public_of, account.id))


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404, 409))
async def close_account(account_id: str, user: CurrentUser) -> Response:
    """Close a personal account that is not your default: its resting orders are canceled, its API keys die."""
    rt, chosen = runtime.current(), accounts.parse_id(account_id)
    canceled = await accounts.close(rt.store, rt.cache, rt.bus, user_id=user.id, account_id=chosen, now=utcnow())
    await accounts.announce_canceled(rt.bus, user.id, canceled)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
