"""Sherwood's entry point: wires settings, connections, the REST API, the pages and background work."""

import asyncio
import gc
import logging
import sys
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import (
    accounts,
    alerts,
    deps,
    errors,
    fallback,
    health,
    keys,
    leagues,
    market,
    orders,
    portfolio,
    watchlist,
    ws,
    ws_server,
)
from api import auth as auth_api
from api.alpaca import app as alpaca_app
from api.http_guards import BodyLimit, SecurityHeaders
from api.origin import OriginCheck
from api.rate_limit import ApiRateLimit
from services import runtime
from services.infra import log_setup
from services.infra.tasks import cancel_and_wait
from services.runtime import Runtime
from settings import DATA_DIR, ROOT, ConfigError, load_settings

log = logging.getLogger("sherwood")
SHUTDOWN_WAIT = 10.0  # seconds the background work, then the connections, get to stop


def create_app(rt: Runtime, *, with_ui: bool = True) -> FastAPI:
    """The ASGI app over a started runtime; `with_ui=False` serves the API alone (API tests)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await rt.open()
        tasks = [asyncio.create_task(work) for work in rt.background_work()]
        await rt.first_quotes()  # the first HTTP answer already has live quotes
        yield
        # Bounded: a shutdown that hangs (once seen in CI, at a test backend's switch) must still end, and say where.
        stuck = await cancel_and_wait(tasks, timeout=SHUTDOWN_WAIT)
        if stuck:
            names = ", ".join(sorted(task.get_coro().__qualname__ for task in stuck))
            log.warning("background work still running %.0f s after it was stopped: %s", SHUTDOWN_WAIT, names)
        try:
            async with asyncio.timeout(SHUTDOWN_WAIT):
                await rt.close()
        except TimeoutError:
            log.warning("closing the connections took over %.0f s; stopping without them", SHUTDOWN_WAIT)

    app = FastAPI(title="Sherwood", version="0.1.0", summary="Paper trading API", lifespan=lifespan)
    errors.install(app)
    deps.document_credentials(app)
    # Outermost last: the origin check first, security headers on every answer, bodies capped before any quota.
    app.add_middleware(ApiRateLimit)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(OriginCheck)
    app.include_router(auth_api.router)
    app.include_router(market.router)
    app.include_router(accounts.router)
    app.include_router(keys.router)
    app.include_router(orders.router)
    app.include_router(portfolio.router)
    app.include_router(watchlist.router)
    app.include_router(watchlist.lists_router)
    app.include_router(alerts.router)
    app.include_router(leagues.router)
    app.include_router(health.router)
    app.include_router(fallback.router)  # after every /api router
    app.include_router(ws.router)
    app.mount("/alpaca", alpaca_app.create())
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    if with_ui:
        _mount_ui(app, rt)
    return app


def _mount_ui(app: FastAPI, rt: Runtime) -> None:
    from nicegui import app as nicegui_app
    from nicegui import ui
    from nicegui.storage import Storage

    import pages
    from components import live, movers_board, sparklines
    from pages.session import RequireLogin

    # Browser storage must be shared when several instances serve one site.
    Storage.path = DATA_DIR / "browser-storage"
    Storage.redis_url = rt.settings.redis_url
    Storage.redis_key_prefix = rt.settings.redis_namespace() + "nicegui:"
    pages.register()
    nicegui_app.add_middleware(RequireLogin)
    live.start(rt.hub)
    movers_board.start()
    sparklines.start()
    ui.run_with(
        app,
        title="Sherwood",
        favicon=ROOT / "static" / "favicon.svg",
        storage_secret=rt.settings.browser_storage_secret(),
        show_welcome_message=False,
    )


def main() -> None:
    try:
        settings = load_settings()
        log_setup.configure(settings.log_level)
        rt = runtime.start(settings)
    except ConfigError as exc:
        print(f"Sherwood cannot start. {exc}", file=sys.stderr)
        sys.exit(2)
    app = create_app(rt)
    # Long-lived objects (modules, the app) leave the collector's view, and young collections run less often:
    # with a thousand WebSocket clients, full collections otherwise pause every client for 100-300 ms.
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
    print(f"Sherwood is serving http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,
        timeout_graceful_shutdown=5,
        proxy_headers=True,  # behind nginx: the client's address and scheme, believed only from these proxies
        forwarded_allow_ips=settings.forwarded_allow_ips,
        **ws_server.UVICORN_OPTIONS,
    )


if __name__ == "__main__":
    main()
