"""Who is signed in to this browser: the session token kept in NiceGUI's per-browser storage."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware

from components.account_switcher import ACCOUNT_KEY
from models.account import Account
from models.user import UserPublic
from services import runtime
from services.identity import auth
from services.infra.errors import DomainError
from services.runtime import call
from services.trading import accounts

PUBLIC_PATHS = {"/login", "/signup", "/logout", "/favicon.ico"}  # the icon shows on the login page too


async def signed_in_user() -> UserPublic | None:
    token = app.storage.user.get("token")
    if not token:
        return None
    try:
        return await call(auth.authenticate, runtime.current().cache, token)
    except DomainError:
        if app.storage.user.get("token") == token:  # not one a page of this browser stored meanwhile
            app.storage.user.pop("token", None)
        return None


async def selected_account(user: UserPublic) -> Account:
    """The account this browser chose in the header, while it is one of the user's open accounts; else the
    default one (DomainError if the user has none)."""
    chosen = app.storage.user.get(ACCOUNT_KEY)
    if chosen:
        try:
            return await call(accounts.owned, user_id=user.id, account_id=accounts.parse_id(chosen))
        except DomainError:  # closed since, or another user's who signed in here before: forget it
            app.storage.user.pop(ACCOUNT_KEY, None)
    return await call(accounts.owned, user_id=user.id, account_id=None)


def safe_target(target: str | None) -> str:
    """Only same-site paths: an open redirect would hand a phishing site our login page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class RequireLogin(BaseHTTPMiddleware):
    """Send an anonymous visitor of any page to /login, and back again afterwards; find the account the page is of."""

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if path.startswith(("/_nicegui", "/static")) or path in PUBLIC_PATHS:
            return await call_next(request)
        user = await signed_in_user()
        if user is None:
            return RedirectResponse(f"/login?redirect_to={quote(path)}")
        request.state.user = user
        try:
            request.state.account = await selected_account(user)
        except DomainError:  # a user without an open default account (never made by sign-up) cannot trade here
            return RedirectResponse("/logout")
        request.state.account_id = request.state.account.id  # what every page trades and shows
        return await call_next(request)
