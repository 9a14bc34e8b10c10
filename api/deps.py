"""Dependencies shared by the REST routes: the database session and the authenticated user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from models.user import UserPublic
from services import auth, runtime
from services.db import session_scope

_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/auth/login")


def _db() -> Iterator[Session]:
    with session_scope(runtime.current().engine) as session:
        yield session


DbDep = Annotated[Session, Depends(_db)]


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials if credentials else None


TokenDep = Annotated[str | None, Depends(bearer_token)]


def _current_user(db: DbDep, token: TokenDep) -> UserPublic:
    return auth.authenticate(db, runtime.current().cache, token)


CurrentUser = Annotated[UserPublic, Depends(_current_user)]
