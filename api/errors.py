"""The one place where failures become the contract's error shape and HTTP status."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.alpaca import errors as alpaca_errors
from services.infra.errors import INTERNAL_MESSAGE, UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "VALIDATION_ERROR": 400,
    "MISSING_IDEMPOTENCY_KEY": 400,
    "UNKNOWN_SYMBOL": 400,
    "INSUFFICIENT_FUNDS": 400,
    "INSUFFICIENT_SHARES": 400,
    "NO_QUOTE": 400,
    "LEAGUE_NOT_RUNNING": 400,
    "SYMBOL_NOT_ALLOWED": 400,
    "ORDER_TYPE_NOT_ALLOWED": 400,
    "POSITION_LIMIT": 400,
    "UNAUTHORIZED": 401,
    "INVALID_CREDENTIALS": 401,
    "FORBIDDEN": 403,
    "SESSION_REQUIRED": 403,
    "NOT_LEAGUE_OWNER": 403,
    "REMOVED_FROM_LEAGUE": 403,
    "NOT_FOUND": 404,
    "ORDER_NOT_FOUND": 404,
    "ACCOUNT_NOT_FOUND": 404,
    "ALERT_NOT_FOUND": 404,
    "WATCHLIST_NOT_FOUND": 404,
    "SESSION_NOT_FOUND": 404,
    "KEY_NOT_FOUND": 404,
    "LEAGUE_NOT_FOUND": 404,
    "MEMBER_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "EMAIL_TAKEN": 409,
    "DUPLICATE_REQUEST": 409,
    "DUPLICATE_CLIENT_ORDER_ID": 409,
    "ORDER_NOT_CANCELABLE": 409,
    "ACCOUNT_LIMIT": 409,
    "ACCOUNT_NOT_RESETTABLE": 409,
    "ACCOUNT_NOT_CLOSABLE": 409,
    "KEY_LIMIT": 409,
    "LEAGUE_STARTED": 409,
    "LEAGUE_ENDED": 409,
    "LEAGUE_NOT_STARTED": 409,
    "LEAGUE_CLOSED": 409,
    "ALREADY_JOINED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every error Sherwood answers: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


def error_response(
    code: str,
    message: str,
    details: Any = None,
    *,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=STATUS_BY_CODE[code], headers=headers)


def domain_error_response(exc: DomainError) -> JSONResponse:
    return error_response(exc.code, exc.message, exc.details, retry_after=exc.retry_after, headers=exc.headers)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route that can fail with these statuses."""
    return {status: {"model": ErrorResponse, "description": "Error"} for status in statuses}


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    details = []
    for err in exc.errors():
        if err["type"] == "json_invalid":
            details.append({"field": "body", "message": "The request body is not valid JSON."})
        else:
            field = (err.get("ctx") or {}).get("field") or _field_name(tuple(err["loc"]))
            details.append({"field": field, "message": err["msg"]})
    return details


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError):
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        details = _validation_details(exc)
        fields = ", ".join(sorted({d["field"] for d in details}))
        return error_response("VALIDATION_ERROR", f"Invalid request: check {fields}.", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/alpaca/"):  # a path the /alpaca mount cannot match (a newline in it)
            return alpaca_errors.response(alpaca_errors.of_http(exc))
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}.get(exc.status_code)
        if code is None:
            code = "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR"
        return error_response(code, str(exc.detail))

    async def _database_down(_request: Request, exc: Exception):
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return error_response("SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE)

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_down)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error", exc_info=exc)
        return error_response("INTERNAL_ERROR", INTERNAL_MESSAGE)
