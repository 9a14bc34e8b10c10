"""An order placed through one instance shows up live on the other: in a browser page, on `/ws`, and to an alpaca-py
bot's streams; nginx keeps the Alpaca streams open like `/ws`."""

import asyncio
import uuid

import httpx
import orjson
from alpaca.data.live import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream
from playwright.async_api import expect
from websockets.asyncio.client import connect

from tests.alpaca.conftest import sign_up
from tests.alpaca.streaming import WAIT, next_update, running
from tests.scaleout.test_one_site import serving_instance, sign_up_in_browser, socket_is_live
from tests.support.nginx import running_nginx
from tests.support.ws import receive, receive_type, ws_url


def login(base_url: str, email: str, password: str) -> str:
    response = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["token"]


async def test_an_order_placed_on_one_instance_shows_live_in_the_page_and_on_ws_of_the_other(site, page):
    on_b = site.route_cookie_for("b")
    await page.context.add_cookies([{"name": name, "value": value, "url": site.url} for name, value in on_b.items()])
    email, password = await sign_up_in_browser(page, site.url)
    assert await serving_instance(page, site.url) == "b"
    await page.goto(f"{site.url}/orders")
    await socket_is_live(page)
    await expect(page.get_by_test_id("all-orders")).not_to_contain_text("AAPL")

    a = site.instances["a"].url
    token = login(a, email, password)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in on_b.items())}
    async with connect(ws_url(site.url), additional_headers=headers) as ws:  # through nginx, to b
        assert await receive(ws) == {"type": "connected", "authenticated": False}
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert await receive(ws) == {"type": "connected", "authenticated": True}

        body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "3", "limitPrice": "1.00"}
        placed = httpx.post(
            f"{a}/api/orders",
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()["order"]

        update = await receive_type(ws, "order_update")
        assert update["data"]["id"] == order["id"]
        assert update["data"]["status"] == "pending"
    orders_table = page.get_by_test_id("all-orders")
    await expect(orders_table).to_contain_text("AAPL", timeout=5_000)
    await expect(orders_table).to_contain_text("Pending")


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def test_an_alpaca_bot_trades_through_one_instance_and_hears_the_fill_and_quotes_on_the_other(site):
    """alpaca-py's TradingClient, TradingStream and StockDataStream, unchanged but for their URLs and keys, through
    nginx. nginx's route cookie (as a browser would carry it) pins the REST calls to `a`, the streams to `b`."""
    trader = sign_up(site.url)
    on_a, on_b = site.route_cookie_for("a"), site.route_cookie_for("b")
    base = f"{site.url}/alpaca"
    trading = TradingClient(trader.key_id, trader.secret, url_override=base)
    trading._session.cookies.update(on_a)
    assert trading._session.get(f"{site.url}/api/health", timeout=5).json()["instance"] == "a"
    to_b = {"ping_interval": 10, "ping_timeout": 180, "max_queue": 1024, "extra_headers": cookie_header(on_b)}
    streams = base.replace("http://", "ws://")
    updates_stream = TradingStream(
        trader.key_id, trader.secret, url_override=f"{streams}/stream", websocket_params=to_b
    )
    market_stream = StockDataStream(
        trader.key_id, trader.secret, url_override=f"{streams}/v2/iex", websocket_params=to_b
    )
    updates: asyncio.Queue = asyncio.Queue()
    quotes: asyncio.Queue = asyncio.Queue()

    async def on_update(update):
        await updates.put(update)

    async def on_quote(quote):
        await quotes.put(quote)

    updates_stream.subscribe_trade_updates(on_update)
    market_stream.subscribe_quotes(on_quote, "MSFT")
    async with running(updates_stream), running(market_stream):
        quote = await asyncio.wait_for(quotes.get(), WAIT)  # the feed runs on a; b relays it from Redis
        assert quote.symbol == "MSFT" and quote.ask_price > quote.bid_price > 0

        buy = MarketOrderRequest(symbol="MSFT", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        placed = await asyncio.to_thread(trading.submit_order, buy)
        assert (await next_update(updates, "new")).order.id == placed.id
        fill = await next_update(updates, "fill")
        assert fill.order.id == placed.id and fill.order.status == OrderStatus.FILLED
        assert (fill.qty, fill.position_qty, fill.price) == (2, 2, float(placed.filled_avg_price))

    listed = httpx.get(f"{site.url}/api/orders", headers={**trader.key, **cookie_header(on_b)}, timeout=10)
    assert [o["id"] for o in listed.json()["orders"]] == [str(placed.id)]  # the same order, read on b


async def test_nginx_keeps_quiet_alpaca_streams_open_past_the_plain_request_timeout(site, tmp_path):
    """Not every client pings, and a bot's trade_updates may be silent for hours: nginx must not cut the /alpaca
    streams at the timeout of plain requests (shortened here to 1 s so a short silence shows it)."""
    trader = sign_up(site.url)
    upstreams = [app.url.removeprefix("http://") for app in site.instances.values()]
    quick = {"proxy_read_timeout 60s;": "proxy_read_timeout 1s;"}
    with running_nginx(tmp_path / "nginx", upstreams, edits=quick) as url:
        streams = f"{url.replace('http://', 'ws://')}/alpaca"
        trading = TradingClient(trader.key_id, trader.secret, url_override=f"{url}/alpaca")
        for path in ("/stream", "/stream/"):
            async with connect(f"{streams}{path}", ping_interval=None) as ws:
                auth = {"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": trader.secret}}
                await ws.send(orjson.dumps(auth).decode())
                await ws.send(orjson.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}).decode())
                assert orjson.loads(await ws.recv())["data"]["status"] == "authorized"
                assert orjson.loads(await ws.recv())["stream"] == "listening"
                await asyncio.sleep(2)  # the silence under test: twice the plain read timeout
                limit = LimitOrderRequest(
                    symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1
                )
                placed = await asyncio.to_thread(trading.submit_order, limit)
                update = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))
                assert update["data"]["order"]["id"] == str(placed.id)
        async with connect(f"{streams}/v2/iex", ping_interval=None) as ws:
            assert orjson.loads(await ws.recv()) == [{"T": "success", "msg": "connected"}]
            await ws.send(orjson.dumps({"action": "auth", "key": trader.key_id, "secret": trader.secret}).decode())
            assert orjson.loads(await ws.recv()) == [{"T": "success", "msg": "authenticated"}]
            await asyncio.sleep(2)  # nothing subscribed: nothing sent
            await ws.send(orjson.dumps({"action": "subscribe", "quotes": ["MSFT"]}).decode())
            assert orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))[0]["T"] == "subscription"
