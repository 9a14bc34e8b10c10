"""The general quota on `/api` calls: API_RATE_LIMIT a minute per user, or per client address when anonymous.

Every `/api` answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds
until the window starts again); one past the quota is 429 RATE_LIMITED with Retry-After. An answer that already
names a more specific quota (order placements) keeps its own headers.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import domain_error_response
from services import runtime
from services.identity import auth
from services.infra import rate_limits
from services.infra.cache import Cache
from services.infra.errors import DomainError

SESSION_USER = "session_user"  # request state: (token, user) of a session the quota check found in the cache


async def _caller(cache: Cache, headers: Headers, address: str, state: dict) -> str:
    """Whose quota a call counts against. A token counts as its user's only once the session cache vouches
    for it, so made-up tokens cannot mint fresh quotas: they count against their address. The user found is
    left in the request's state, so the route's authentication does not read the session again."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = await auth.authenticate_cached(cache, token.strip())
        if user is not None:
            state[SESSION_USER] = (token.strip(), user)
            return f"api:user:{user.id}"
    return f"api:address:{address}"


class ApiRateLimit:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        rt = runtime.current()
        limit = rt.settings.api_rate_limit
        if not limit:
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        try:
            caller = await _caller(rt.cache, Headers(scope=scope), address, scope.setdefault("state", {}))
            quota = await rate_limits.take(rt.cache, caller, limit=limit, what="API calls")
        except DomainError as exc:
            await domain_error_response(exc)(scope, receive, send)
            return
        quota_headers = quota.headers()

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "x-ratelimit-limit" not in headers:
                    headers.update(quota_headers)
            await send(message)

        await self.app(scope, receive, send_with_quota)
