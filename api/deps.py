"""Dependencies shared by the REST routes: the database session, the caller, and the account a call acts on.

A caller presents a session token (`Authorization: Bearer`) or an API key pair (`APCA-API-KEY-ID` +
`APCA-API-SECRET-KEY`), and either is checked one way: against the cache on the event loop, with a hop to a worker
thread (and the database) only on a miss, since each hop costs; simple dependencies stay on the loop. A key acts on
its own account only, and cannot manage the user: routes that take `CurrentUser` need a session.
"""

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.identity import auth
from services.infra.cache import Cache
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.trading import accounts, api_keys

CALLER = "caller"  # request state: (credentials, caller) that the API quota's check found in the cache
KEY_ID_HEADER, SECRET_HEADER = "APCA-API-KEY-ID", "APCA-API-SECRET-KEY"

# The credentials, as the OpenAPI document names them; the routes read them from the raw headers (see `_caller`).
SECURITY_SCHEMES = {
    "session": {"type": "http", "scheme": "bearer", "description": "The token from POST /api/auth/login"},
    "apiKeyId": {
        "type": "apiKey",
        "in": "header",
        "name": KEY_ID_HEADER,
        "description": f"An API key's id, with its secret in {SECRET_HEADER}: trading and market data only",
    },
    "apiKeySecret": {
        "type": "apiKey",
        "in": "header",
        "name": SECRET_HEADER,
        "description": f"The secret of the key in {KEY_ID_HEADER}",
    },
}


def _db() -> Iterator[Session]:
    with session_scope(runtime.current().engine) as session:
        yield session


DbDep = Annotated[Session, Depends(_db)]


async def bearer_token(request: Request) -> str | None:
    return Credentials.of(request.headers).token


TokenDep = Annotated[str | None, Depends(bearer_token)]


@dataclass(frozen=True)
class Credentials:
    """What a request presents: a session token, else an API key pair."""

    token: str | None = None
    key_id: str | None = None
    secret: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> "Credentials":
        """From raw headers (the quota's check, which runs before the routes' dependencies)."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        return cls(token or None, headers.get(KEY_ID_HEADER) or None, headers.get(SECRET_HEADER) or None)


@dataclass(frozen=True)
class Caller:
    """Who makes a call: a session's user, or the holder of an API key (`key`), which acts on its account only."""

    user: UserPublic
    key: api_keys.KeyHolder | None = None


async def cached_caller(cache: Cache, credentials: Credentials) -> Caller | None:
    """The caller from the cache alone, without blocking the event loop; None when only the database can tell."""
    if credentials.token:
        user = await auth.authenticate_cached(cache, credentials.token)
        return Caller(user) if user is not None else None
    holder = await api_keys.authenticate_cached(cache, credentials.key_id, credentials.secret)
    return Caller(holder.user, holder) if holder is not None else None


def _checked_caller(credentials: Credentials) -> Caller:
    """The caller (blocking: the cache, or the database on a miss); UNAUTHORIZED for missing or bad credentials."""
    rt = runtime.current()
    with session_scope(rt.engine) as db:
        if credentials.token or not (credentials.key_id or credentials.secret):
            return Caller(auth.authenticate(db, rt.cache, credentials.token))
        holder = api_keys.authenticate(db, rt.cache, credentials.key_id, credentials.secret)
        return Caller(holder.user, holder)


async def identify(credentials: Credentials, cached: Caller | None = None) -> Caller:
    """The caller these credentials name (`cached` if the cache has vouched already), checked against the cache on
    the event loop and the database on a miss; a key's use is recorded. UNAUTHORIZED for bad credentials."""
    rt = runtime.current()
    caller = (
        cached or await cached_caller(rt.cache, credentials) or await run_in_threadpool(_checked_caller, credentials)
    )
    if caller.key is not None:
        rt.key_uses.record(caller.key.id, utcnow())
    return caller


async def _caller(request: Request) -> Caller:
    # One dependency reading the raw headers, not one per credential header: FastAPI's dependency machinery costs
    # more than the cached check itself, on every call. `document_credentials` puts them in the OpenAPI document.
    credentials = Credentials.of(request.headers)
    found = getattr(request.state, CALLER, None)  # the API quota's check has read these credentials already
    return await identify(credentials, found[1] if found is not None and found[0] == credentials else None)


CurrentCaller = Annotated[Caller, Depends(_caller)]


async def _session_user(caller: CurrentCaller) -> UserPublic:
    if caller.key is not None:
        raise DomainError("SESSION_REQUIRED", "This call needs a session: log in; an API key may only trade.")
    return caller.user


CurrentUser = Annotated[UserPublic, Depends(_session_user)]
"""The user of a session; an API key is 403 SESSION_REQUIRED (a leaked key cannot mint keys or change the password)."""


async def _account_choice(
    caller: CurrentCaller,
    x_account_id: Annotated[
        str | None, Header(description="the account to act on; default: your default account (a key's: its own)")
    ] = None,
) -> uuid.UUID | None:
    """The account a trading call acts on, as the request tells it: a key's own account, else the one X-Account-Id
    names; None for the default. Not yet checked against the database (`CurrentAccount` and the services do)."""
    chosen = accounts.parse_id(x_account_id) if x_account_id else None
    if caller.key is None:
        return chosen
    if chosen not in (None, caller.key.account_id):
        raise accounts.not_found()  # a key knows no other account
    return caller.key.account_id


AccountChoice = Annotated[uuid.UUID | None, Depends(_account_choice)]


def _current_account(caller: CurrentCaller, chosen: AccountChoice) -> uuid.UUID:
    """The id of the account a trading call acts on: the caller's open account chosen above, else the default. Its
    own short session: on SQLite a transaction kept open through the route would hold the write lock that the
    route's change of money waits for."""
    with session_scope(runtime.current().engine) as db:
        return accounts.owned(db, user_id=caller.user.id, account_id=chosen).id


CurrentAccount = Annotated[uuid.UUID, Depends(_current_account)]


def _uses(dependant: Dependant, call) -> bool:
    return any(sub.call is call or _uses(sub, call) for sub in dependant.dependencies)


def document_credentials(app: FastAPI) -> None:
    """Name in the OpenAPI document the credentials each route takes: a session, or (for trading and market data)
    an API key id with its secret."""
    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not _uses(route.dependant, _caller):
                continue
            session_only = _uses(route.dependant, _session_user)
            security = [{"session": []}] if session_only else [{"session": []}, {"apiKeyId": [], "apiKeySecret": []}]
            for method in route.methods:
                operation = schema["paths"].get(context.path, {}).get(method.lower())
                if operation is not None:
                    operation["security"] = security
        return schema

    app.openapi = openapi
