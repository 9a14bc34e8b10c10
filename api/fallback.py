"""Unknown paths under /api answer in the error shape, not with the UI's HTML 404 page."""

from fastapi import APIRouter, Request
from starlette.routing import Match

from api.errors import error_response

router = APIRouter(include_in_schema=False)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@router.api_route("/api/{path:path}", methods=METHODS)
async def unknown_api_path(request: Request):
    for route in request.app.router.routes:
        is_self = getattr(route, "endpoint", None) is unknown_api_path
        if not is_self and route.matches(request.scope)[0] == Match.PARTIAL:
            return error_response("METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}.")
    return error_response("NOT_FOUND", f"There is no endpoint at {request.url.path}.")
