"""Guards every HTTP answer and request shares: security headers on every response, and a cap on request bodies."""

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.alpaca import errors as alpaca_errors
from api.errors import error_response

MAX_BODY = 64 * 1024  # bytes; the largest legitimate body (an order, a login) is well under 1 KiB

# NiceGUI (Vue and Quasar) evaluates inline scripts and templates, so 'unsafe-inline' and 'unsafe-eval' stay;
# everything else is our own origin only, and no other site may frame a page (clickjacking).
_CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# FastAPI's /docs and /redoc load their scripts, styles and logo from these.
_DOCS_SOURCES = "https://cdn.jsdelivr.net https://fastapi.tiangolo.com"
_DOCS_PATHS = ("/docs", "/redoc")


def _policy(extra: str = "") -> str:
    sources = dict(_CSP)
    if extra:
        for directive in ("script-src", "style-src", "img-src", "font-src"):
            sources[directive] += f" {extra}"
    return "; ".join(f"{name} {value}" for name, value in sources.items())


PAGE_HEADERS = {
    "Content-Security-Policy": _policy(),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
DOCS_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": _policy(_DOCS_SOURCES)}


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = DOCS_HEADERS if scope["path"].startswith(_DOCS_PATHS) else PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse a body over MAX_BODY with 413 PAYLOAD_TOO_LARGE: by its Content-Length before reading it, or, when
    it comes in chunks, as soon as the chunks add up to more."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            await _too_large(scope["path"])(scope, receive, send)
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:  # the app's error handler turns this into the 413 above
                    raise HTTPException(413, _MESSAGE)
            return message

        await self.app(scope, capped_receive, send)


_MESSAGE = f"The request body is larger than {MAX_BODY // 1024} KiB."


def _too_large(path: str):
    if path.startswith("/alpaca/"):  # in Alpaca's shape there
        return alpaca_errors.response(alpaca_errors.AlpacaError(413, 41310000, _MESSAGE))
    return error_response("PAYLOAD_TOO_LARGE", _MESSAGE, {"maxBytes": MAX_BODY})
