"""Who is signed in to this browser: the session token kept in NiceGUI's per-browser storage."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware

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
        app.storage.user.pop("token", None)
        return None


def safe_target(target: str | None) -> str:
    """Only same-site paths: an open redirect would hand a phishing site our login page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class RequireLogin(BaseHTTPMiddleware):
    """Send an anonymous visitor of any page to /login, and back again afterwards."""

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if path.startswith(("/_nicegui", "/static")) or path in PUBLIC_PATHS:
            return await call_next(request)
        user = await signed_in_user()
        if user is None:
            return RedirectResponse(f"/login?redirect_to={quote(path)}")
        request.state.user = user
        try:
            request.state.account_id = (await call(accounts.owned, user_id=user.id, account_id=None)).id
        except DomainError:  # a user without an open default account (never made by sign-up) cannot trade here
            return RedirectResponse("/logout")
        return await call_next(request)
