"""Alpaca's error shape on every non-2xx answer of /alpaca: compact JSON `{"code": 40410000, "message": "..."}`
(extra keys sorted in, as Alpaca does), never FastAPI's `{"detail"}`. Bots compare these bodies literally, and
alpaca-py's APIError reads `code` from them."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.infra.errors import UNAVAILABLE, DomainError

log = logging.getLogger(__name__)

NOT_AUTHORIZED = "request is not authorized"


class AlpacaError(Exception):
    """An answer in Alpaca's words: HTTP status, 8-digit code (its first three digits are the status), message."""

    def __init__(self, status: int, code: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def invalid(message: str) -> AlpacaError:
    """Alpaca's answer to a request it understands but refuses (a bad field): 422 40010001."""
    return AlpacaError(422, 40010001, message)


def not_found(message: str) -> AlpacaError:
    return AlpacaError(404, 40410000, message)


def forbidden(message: str, **extra: Any) -> AlpacaError:
    """A refusal of an order the account cannot carry: 403 40310000."""
    return AlpacaError(403, 40310000, message, **extra)


# Sherwood's refusals in Alpaca's terms. Those with no Alpaca twin (league rules, no quote, under $1) are 403
# 40310000 with Sherwood's own message, as the contract says.
_FORBIDDEN = {"NO_QUOTE", "LEAGUE_NOT_RUNNING", "POSITION_LIMIT", "SYMBOL_NOT_ALLOWED", "ORDER_TYPE_NOT_ALLOWED"}
_BY_CODE: dict[str, tuple[int, int, str | None]] = {  # code -> (status, Alpaca code, message; None: Sherwood's)
    "UNAUTHORIZED": (401, 40110000, NOT_AUTHORIZED),
    "INVALID_CREDENTIALS": (401, 40110000, NOT_AUTHORIZED),
    "SESSION_REQUIRED": (403, 40310000, None),
    "VALIDATION_ERROR": (422, 40010001, None),
    "UNKNOWN_SYMBOL": (422, 40010001, "invalid symbol"),
    "DUPLICATE_CLIENT_ORDER_ID": (422, 40010001, "client_order_id must be unique"),
    "INSUFFICIENT_FUNDS": (403, 40310000, "insufficient buying power"),
    "INSUFFICIENT_SHARES": (403, 40310000, "insufficient qty available for order"),
    "ORDER_NOT_FOUND": (404, 40410000, "order not found"),
    "ACCOUNT_NOT_FOUND": (404, 40410000, "account not found"),
    "WATCHLIST_NOT_FOUND": (404, 40410000, "watchlist not found"),
    "ORDER_NOT_CANCELABLE": (422, 42210000, None),
    "RATE_LIMITED": (429, 42910000, "rate limit exceeded"),
    "PAYLOAD_TOO_LARGE": (413, 41310000, None),
    "SERVICE_UNAVAILABLE": (503, 50310000, None),
}


_ALPACA_FIELD = {  # Sherwood's field names in its messages, and Alpaca's (compound names first)
    "takeProfit": "take_profit",
    "stopLoss": "stop_loss",
    "orderClass": "order_class",
    "orderType": "type",
    "timeInForce": "time_in_force",
    "trailPercent": "trail_percent",
    "trailPrice": "trail_price",
    "limitPrice": "limit_price",
    "stopPrice": "stop_price",
    "clientOrderId": "client_order_id",
    "quantity": "qty",
}


def alpaca_words(text: str) -> str:
    """A Sherwood message with Alpaca's field names in it (`limitPrice` is `limit_price`, `quantity` is `qty`)."""
    for sherwood, alpaca in _ALPACA_FIELD.items():
        text = text.replace(sherwood, alpaca)
    return text


def _sherwood_message(exc: DomainError) -> str:
    """Sherwood's message, with what each field's problem is when it names them."""
    problems = [d for d in exc.details if isinstance(d, dict)] if isinstance(exc.details, list) else []
    named = [
        f"{d['field']} {d['message']}"
        for d in problems
        if d.get("field") and d.get("message") and d["message"] not in exc.message
    ]
    return alpaca_words(f"{exc.message} ({'; '.join(named)})" if named else exc.message)


def of_domain(exc: DomainError) -> AlpacaError:
    if exc.code in _FORBIDDEN:
        return forbidden(exc.message)
    status, code, message = _BY_CODE.get(exc.code, (400, 40010000, None))
    return AlpacaError(status, code, message or _sherwood_message(exc))


def body(exc: AlpacaError | DomainError) -> tuple[int, dict[str, Any]]:
    """The status and body of a refusal (keys sorted, as Alpaca sends them): what a 207 answer lists per item."""
    refusal = of_domain(exc) if isinstance(exc, DomainError) else exc
    return refusal.status, dict(sorted({**refusal.extra, "code": refusal.code, "message": refusal.message}.items()))


def response(exc: AlpacaError, headers: dict[str, str] | None = None) -> JSONResponse:
    status, content = body(exc)
    return JSONResponse(content, status_code=status, headers=headers)


def of_http(exc: StarletteHTTPException) -> AlpacaError:
    message = {404: "endpoint not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
    return AlpacaError(exc.status_code, exc.status_code * 100000 + 10000, message)


def domain_response(exc: DomainError) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return response(of_domain(exc), headers)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "header"))
        problems.append(f"{field}: {err['msg']}" if field else err["msg"])
    return "; ".join(problems) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(AlpacaError)
    async def _alpaca(_request: Request, exc: AlpacaError):
        return response(exc)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError):
        return domain_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            return response(AlpacaError(400, 40010000, "request body format is invalid"))
        return response(invalid(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        return response(of_http(exc))

    async def _database_down(_request: Request, exc: Exception):
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return response(AlpacaError(503, 50310000, "service temporarily unavailable"))

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error under /alpaca", exc_info=exc)
        return response(AlpacaError(500, 50010000, "internal server error occurred"))
