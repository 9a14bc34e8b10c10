"""Cross-site WebSocket hijacking guard: a browser names the page that opens a socket in `Origin`, so a handshake
from a page of another site is refused (403 before accept), on `/ws` and on NiceGUI's socket.io endpoint.

Allowed: no Origin at all (bots and scripts send none), the app's own origin (the Host the request came to, or
the X-Forwarded-Host a reverse proxy set: a page cannot set either header on a handshake), and the origins of
ALLOWED_ORIGINS.
"""

from urllib.parse import SplitResult, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from services import runtime

NICEGUI_SOCKET = "/_nicegui_ws"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_allowed(origin: str, hosts: list[str], allowed: tuple[str, ...]) -> bool:
    """Whether a page of `origin` may connect to us, reached under these host names (Host, X-Forwarded-Host)."""
    origin = origin.strip().rstrip("/").lower()
    if origin in allowed:
        return True
    page = urlsplit(origin)
    if page.scheme not in _DEFAULT_PORTS or not page.hostname:
        return False  # "null" (sandboxed frames, files) and anything odd
    return any(_same_host(page, host) for host in hosts)


def _same_host(page: SplitResult, host: str) -> bool:
    ours = urlsplit(f"//{host.strip().lower()}")
    try:
        port, page_port = ours.port, page.port or _DEFAULT_PORTS[page.scheme]
    except ValueError:
        return False
    if not ours.hostname or ours.hostname != page.hostname:
        return False
    # A proxy that passes the bare host name (nginx's `$host`) drops the port the browser used: same host is ours.
    return port is None or port == page_port


class OriginCheck:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope["path"].startswith(NICEGUI_SOCKET)  # socket.io's polling transport
        )
        if guarded:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            allowed = runtime.current().settings.allowed_origins
            hosts = [headers.get("host", ""), *headers.get("x-forwarded-host", "").split(",")]
            if origin is not None and not is_allowed(origin, hosts, allowed):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
                else:
                    refusal = error_response("FORBIDDEN", "This origin may not open a connection here.")
                    await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
