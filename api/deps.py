"""Dependencies shared by the REST routes: the database session and the authenticated user.

Blocking work runs in worker threads; each hop there costs, so a token is checked against the session cache
on the event loop, and only a cache miss takes a hop to the database; simple dependencies stay on the loop.
"""

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.rate_limit import SESSION_USER
from models.user import UserPublic
from services import runtime
from services.identity import auth
from services.infra.db import session_scope
from services.trading import accounts

_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/auth/login")


def _db() -> Iterator[Session]:
    with session_scope(runtime.current().engine) as session:
        yield session


DbDep = Annotated[Session, Depends(_db)]


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials else None


TokenDep = Annotated[str | None, Depends(bearer_token)]


def authenticate(token: str | None) -> UserPublic:
    """The token's user (blocking: the cache, or the database on a miss)."""
    rt = runtime.current()
    with session_scope(rt.engine) as db:
        return auth.authenticate(db, rt.cache, token)


async def _current_user(request: Request, token: TokenDep) -> UserPublic:
    found = getattr(request.state, SESSION_USER, None)  # the API quota's check has read this session already
    if found is not None and found[0] == token:
        return found[1]
    user = await auth.authenticate_cached(runtime.current().cache, token)
    return user if user is not None else await run_in_threadpool(authenticate, token)


CurrentUser = Annotated[UserPublic, Depends(_current_user)]


def _header_account(
    x_account_id: Annotated[
        str | None, Header(description="the account to act on; default: your default account")
    ] = None,
) -> uuid.UUID | None:
    return accounts.parse_id(x_account_id) if x_account_id else None


AccountChoice = Annotated[uuid.UUID | None, Depends(_header_account)]


def _current_account(user: CurrentUser, chosen: AccountChoice) -> uuid.UUID:
    """The id of the account a trading call acts on: the one `X-Account-Id` names, if it is the caller's, else the
    caller's default. Its own short session: on SQLite a transaction kept open through the route would hold the
    write lock that the route's change of money waits for."""
    with session_scope(runtime.current().engine) as db:
        return accounts.owned(db, user_id=user.id, account_id=chosen).id


CurrentAccount = Annotated[uuid.UUID, Depends(_current_account)]
