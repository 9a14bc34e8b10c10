"""The /alpaca sub-application: Alpaca's routes, its error shape and its URL habits, apart from /api."""

import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from api.alpaca import (
    account,
    activities,
    assets,
    calendar,
    data_stream,
    errors,
    history,
    market_data,
    orders,
    positions,
    trade_stream,
    watchlists,
)

_DOUBLED = re.compile(r"/{2,}")


class TolerantPaths:
    """Collapse what common client mistakes make of a path (`url_override` ending in `/` or in `/v2`):
    `//v2/account` and `/v2/v2/account` are `/v2/account`. Nothing under /alpaca redirects."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            root = scope.get("root_path", "")
            path = scope["path"]
            inner = path[len(root) :] if path.startswith(root) else path
            tidy = _DOUBLED.sub("/", inner).replace("/v2/v2/", "/v2/", 1)
            if tidy != inner:
                scope = {**scope, "path": root + tidy, "raw_path": (root + tidy).encode()}
        await self.app(scope, receive, send)


def create() -> FastAPI:
    app = FastAPI(
        title="Sherwood: Alpaca-compatible API",
        summary="Alpaca's Trading and Market Data APIs v2 over Sherwood's paper accounts",
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(TolerantPaths)
    routers = (account, activities, history, calendar, assets, orders, positions, watchlists, market_data, trade_stream)
    for module in routers:
        app.include_router(module.router)
    app.include_router(data_stream.router)  # last: its /v2/{feed} would take any one-segment /v2 path
    return app
