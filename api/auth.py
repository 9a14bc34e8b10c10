"""`/api/auth`: register, login, logout (here or everywhere), me, sessions and the password.

Every login issues a new token, and every refresh trades one for a new one (a user holds at most
auth.MAX_SESSIONS; the oldest ends first). A password change
keeps the session that made it (its token stays valid) and ends every other one.
"""

from fastapi import APIRouter, Request, Response, status

from api.deps import CurrentUser, DbDep, TokenDep
from api.errors import documented
from models.user import LoginRequest, LoginResult, PasswordChange, SessionList, UserCreate, UserEnvelope
from services import runtime
from services.identity import auth

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=documented(400, 409))
def register(body: UserCreate, db: DbDep) -> UserEnvelope:
    """Create an account funded with the starting paper cash."""
    user = auth.register(
        db,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        starting_cash=runtime.current().settings.starting_cash,
    )
    return UserEnvelope(user=user)


@router.post("/login", responses=documented(400, 401, 429))
def login(body: LoginRequest, request: Request, db: DbDep) -> LoginResult:
    """Exchange email and password for a session token (24 h)."""
    current = runtime.current()
    return auth.login(
        db,
        current.cache,
        current.bus,
        email=body.email,
        password=body.password,
        client_address=_address(request),
        user_agent=request.headers.get("user-agent"),
    )


@router.post("/refresh", responses=documented(401, 403))
def refresh(_user: CurrentUser, token: TokenDep, db: DbDep) -> LoginResult:
    """Trade this live token for one that lives 24 h from now (never past 30 days after the login that began the
    chain); this token ends at once on every instance."""
    current = runtime.current()
    return auth.refresh(db, current.cache, current.bus, token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403))
def logout(_user: CurrentUser, token: TokenDep, db: DbDep) -> Response:
    """End this session on every instance at once."""
    current = runtime.current()
    auth.logout(db, current.cache, current.bus, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", responses=documented(401, 403))
def me(user: CurrentUser) -> UserEnvelope:
    return UserEnvelope(user=user)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403))
def logout_everywhere(user: CurrentUser, db: DbDep) -> Response:
    """End every session of this user, this one included, on every instance at once (open sockets close with 4401)."""
    current = runtime.current()
    auth.logout_everywhere(db, current.cache, current.bus, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", responses=documented(401, 403))
def list_sessions(user: CurrentUser, token: TokenDep, db: DbDep) -> SessionList:
    """Your live sessions, newest first; `current` marks the one this token belongs to."""
    return SessionList(sessions=auth.list_sessions(db, user_id=user.id, token=token))


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404))
def revoke_session(session_id: str, user: CurrentUser, db: DbDep) -> Response:
    """End one of your sessions (this one too, if you name it) on every instance at once."""
    current = runtime.current()
    auth.revoke_session(db, current.cache, current.bus, user_id=user.id, session=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, responses=documented(400, 401, 403, 429))
def change_password(body: PasswordChange, user: CurrentUser, token: TokenDep, db: DbDep) -> Response:
    """Change your password: the current one is checked again; every other session ends, this one stays."""
    current = runtime.current()
    auth.change_password(
        db,
        current.cache,
        current.bus,
        user_id=user.id,
        token=token,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
