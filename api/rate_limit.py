"""The general quota on `/api` and `/alpaca` calls: API_RATE_LIMIT a minute per user (sessions and API keys alike),
or per client address when anonymous.

Every `/api` answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds
until the window starts again); one past the quota is 429 RATE_LIMITED with Retry-After (under /alpaca in Alpaca's
shape, 42910000, which its SDKs retry). An answer that already
names a more specific quota (order placements) keeps its own headers.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.alpaca import errors as alpaca_errors
from api.deps import CALLER, Credentials, cached_caller
from api.errors import domain_error_response
from services import runtime
from services.infra import rate_limits
from services.infra.cache import Cache
from services.infra.errors import DomainError


async def _quota_key(cache: Cache, headers: Headers, address: str, state: dict) -> str:
    """Whose quota a call counts against. A session token or an API key counts as its user's only once the cache
    vouches for it, so made-up credentials cannot mint fresh quotas: they count against their address. The caller
    found is left in the request's state, so the route's authentication does not read the cache again."""
    credentials = Credentials.of(headers)
    caller = await cached_caller(cache, credentials)
    if caller is not None:
        state[CALLER] = (credentials, caller)
        return f"api:user:{caller.user.id}"
    return f"api:address:{address}"


_COUNTED = ("/api/", "/alpaca/")


class ApiRateLimit:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_COUNTED):
            await self.app(scope, receive, send)
            return
        rt = runtime.current()
        limit = rt.settings.api_rate_limit
        if not limit:
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        try:
            key = await _quota_key(rt.cache, Headers(scope=scope), address, scope.setdefault("state", {}))
            quota = await rate_limits.take(rt.cache, key, limit=limit, what="API calls")
        except DomainError as exc:
            alpaca = scope["path"].startswith("/alpaca/")
            refusal = alpaca_errors.domain_response(exc) if alpaca else domain_error_response(exc)
            await refusal(scope, receive, send)
            return
        quota_headers = quota.headers()

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "x-ratelimit-limit" not in headers:
                    headers.update(quota_headers)
            await send(message)

        await self.app(scope, receive, send_with_quota)
