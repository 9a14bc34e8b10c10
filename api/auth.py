"""`/api/auth`: register, login, logout, me."""

from fastapi import APIRouter, Request, Response, status

from api.deps import CurrentUser, DbDep, TokenDep
from api.errors import documented
from models.user import LoginRequest, LoginResult, UserCreate, UserEnvelope
from services import auth, runtime

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
    address = request.client.host if request.client else "unknown"
    return auth.login(db, runtime.current().cache, email=body.email, password=body.password, client_address=address)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401))
def logout(_user: CurrentUser, token: TokenDep, db: DbDep) -> Response:
    """End this session on every instance at once."""
    current = runtime.current()
    auth.logout(db, current.cache, current.bus, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", responses=documented(401))
def me(user: CurrentUser) -> UserEnvelope:
    return UserEnvelope(user=user)
