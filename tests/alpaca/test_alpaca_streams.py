"""alpaca-py's TradingStream and StockDataStream against Sherwood: trade updates for orders placed through
/alpaca and filled later by the execution engine, only the key's own account's; real-time quotes, trades and minute
bars in MessagePack (what the SDKs ask for) and in JSON."""

import asyncio
import time

import httpx
import msgpack
import orjson
import pytest
import websockets
from alpaca.data.live import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream

from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from tests.alpaca.conftest import sign_up
from tests.alpaca.streaming import WAIT, next_update, running, ws_url
from tests.support.factories import quote as make_quote


async def test_trade_updates_follow_orders_from_placement_to_fill(sherwood, trader):
    sherwood.quote("AAPL", "200.00", "200.10")
    trading = TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)
    stream = TradingStream(trader.key_id, trader.secret, url_override=ws_url(sherwood, "/stream"))
    updates: asyncio.Queue = asyncio.Queue()

    async def on_update(update):
        await updates.put(update)

    stream.subscribe_trade_updates(on_update)
    async with running(stream):
        limit = LimitOrderRequest(symbol="AAPL", qty=2, side="buy", time_in_force=TimeInForce.GTC, limit_price=150)
        resting = await asyncio.to_thread(trading.submit_order, limit)
        new = await next_update(updates, "new")
        assert new.order.id == resting.id and new.order.status == "new" and new.timestamp is not None
        assert new.price is None and new.execution_id is None

        market = MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        filled = await asyncio.to_thread(trading.submit_order, market)
        told_new = await next_update(updates, "new")
        fill = await next_update(updates, "fill")
        assert told_new.order.id == fill.order.id == filled.id
        assert (fill.price, fill.qty, fill.position_qty) == (200.1, 1, 1)
        assert fill.order.status == "filled" and fill.execution_id is not None

        await asyncio.to_thread(sherwood.quote, "AAPL", "149.90", "150.00")  # the engine fills the resting limit
        engine_fill = await next_update(updates, "fill")
        assert engine_fill.order.id == resting.id and (engine_fill.price, engine_fill.position_qty) == (150.0, 3)

        low = LimitOrderRequest(symbol="AAPL", qty=1, side="buy", time_in_force=TimeInForce.GTC, limit_price=100)
        again = await asyncio.to_thread(trading.submit_order, low)
        await next_update(updates, "new")
        await asyncio.to_thread(trading.cancel_order_by_id, again.id)
        canceled = await next_update(updates, "canceled")
        assert canceled.order.id == again.id and canceled.order.canceled_at is not None

        stranger = sign_up(sherwood.url)
        theirs = TradingClient(stranger.key_id, stranger.secret, url_override=sherwood.alpaca)
        await asyncio.to_thread(theirs.submit_order, low)
        mine = await asyncio.to_thread(trading.submit_order, low)
        assert (await next_update(updates, "new")).order.id == mine.id  # never the stranger's


async def test_trade_stream_protocol_on_both_paths_and_bad_keys(sherwood, trader):
    for path in ("/stream", "/stream/"):
        async with websockets.connect(ws_url(sherwood, path)) as ws:
            await ws.send(orjson.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}).decode())
            refused = orjson.loads(await ws.recv())
            assert refused == {"stream": "authorization", "data": {"action": "listen", "status": "unauthorized"}}
            auth = {"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": trader.secret}}
            await ws.send(orjson.dumps(auth).decode())
            reply = await ws.recv()
            assert isinstance(reply, bytes)  # JSON in binary frames, as Alpaca sends it
            assert orjson.loads(reply) == {
                "stream": "authorization",
                "data": {"action": "authenticate", "status": "authorized"},
            }
            await ws.send(orjson.dumps({"action": "listen", "data": {"streams": ["trade_updates", "x"]}}).decode())
            assert orjson.loads(await ws.recv()) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    async with websockets.connect(ws_url(sherwood, "/stream")) as ws:
        await ws.send(orjson.dumps({"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": "x"}}))
        assert orjson.loads(await ws.recv())["data"]["status"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT)


async def test_stock_data_stream_sends_quotes_and_trades_in_msgpack(sherwood, trader):
    stream = StockDataStream(trader.key_id, trader.secret, url_override=ws_url(sherwood, "/v2/iex"))
    quotes: asyncio.Queue = asyncio.Queue()
    trades: asyncio.Queue = asyncio.Queue()

    async def on_quote(q):
        await quotes.put(q)

    async def on_trade(t):
        await trades.put(t)

    stream.subscribe_quotes(on_quote, "AAPL")
    stream.subscribe_trades(on_trade, "AAPL")
    async with running(stream):
        ticking = asyncio.create_task(keep_ticking(sherwood, "AAPL"))  # until the subscription has landed
        try:
            seen = await asyncio.wait_for(quotes.get(), WAIT)
            traded = await asyncio.wait_for(trades.get(), WAIT)
        finally:
            ticking.cancel()
        assert seen.symbol == "AAPL" and seen.ask_price - seen.bid_price == pytest.approx(0.02)
        assert seen.timestamp.year >= 2026 and seen.bid_size > 0
        assert traded.symbol == "AAPL" and traded.price >= 201 and traded.size > 0


async def keep_ticking(sherwood, symbol: str) -> None:
    """A quote every 100 ms, each a trade (the day volume grows), as the feed sends them."""
    for n in range(1, 1000):
        previous = sherwood.rt.hub.latest.get(symbol)
        stamp = max(time.time_ns() // 1_000_000, previous.timestamp + 1 if previous else 0)
        tick = make_quote(symbol, f"{200 + n}.00", volume=1000 * n, timestamp=stamp)
        await asyncio.to_thread(sherwood.rt.bus.publish, QUOTES_CHANNEL, encode_batch([tick]))
        await asyncio.sleep(0.1)


async def test_stock_stream_in_json_with_bars_and_bad_auth(sherwood, trader):
    async with websockets.connect(ws_url(sherwood, "/v2/sip")) as ws:
        assert orjson.loads(await ws.recv()) == [{"T": "success", "msg": "connected"}]
        await ws.send(orjson.dumps({"action": "subscribe", "quotes": ["AAPL"]}).decode())
        assert orjson.loads(await ws.recv()) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        await ws.send(orjson.dumps({"action": "auth", "key": trader.key_id, "secret": trader.secret}).decode())
        assert orjson.loads(await ws.recv()) == [{"T": "success", "msg": "authenticated"}]
        await ws.send(orjson.dumps({"action": "subscribe", "quotes": ["KO"], "bars": ["*"]}).decode())
        subscription = orjson.loads(await ws.recv())[0]
        assert (subscription["T"], subscription["quotes"], subscription["bars"], subscription["trades"]) == (
            "subscription",
            ["KO"],
            ["*"],
            [],
        )
        # Two quotes a minute apart close a minute bar (stamped ahead, so no other test's KO quote is newer).
        minute = (time.time_ns() // 60_000_000_000 + 5) * 60_000
        for stamp, last in ((minute + 1_000, "60.00"), (minute + 61_000, "61.00")):
            tick = make_quote("KO", last, timestamp=stamp, volume=500)
            await asyncio.to_thread(sherwood.rt.bus.publish, QUOTES_CHANNEL, encode_batch([tick]))
        got: dict[str, dict] = {}
        async with asyncio.timeout(WAIT):
            while not {"q", "b"} <= set(got):
                for message in orjson.loads(await ws.recv()):
                    got.setdefault(message["T"], message)
        assert got["q"]["S"] == "KO" and isinstance(got["q"]["t"], str) and got["q"]["t"].endswith("Z")
        bar = got["b"]
        assert (bar["S"], bar["o"], bar["c"], "n" in bar, "vw" in bar) == ("KO", 60.0, 60.0, True, True)
    async with websockets.connect(
        ws_url(sherwood, "/v2/iex"), additional_headers={"Content-Type": "application/msgpack"}
    ) as ws:
        assert msgpack.unpackb(await ws.recv()) == [{"T": "success", "msg": "connected"}]
        await ws.send(msgpack.packb({"action": "auth", "key": trader.key_id, "secret": "wrong"}))
        assert msgpack.unpackb(await ws.recv()) == [{"T": "error", "code": 402, "msg": "auth failed"}]


async def test_a_session_token_hears_its_default_accounts_updates_and_a_deleted_key_is_cut_off(sherwood, trader):
    sherwood.quote("AAPL", "200.00", "200.10")
    async with websockets.connect(ws_url(sherwood, "/stream")) as ws:
        await ws.send(orjson.dumps({"action": "authenticate", "data": {"oauth_token": trader.token}}).decode())
        assert orjson.loads(await ws.recv())["data"]["status"] == "authorized"
        await ws.send(orjson.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}).decode())
        await ws.recv()
        trading = TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)
        limit = LimitOrderRequest(symbol="AAPL", qty=1, side="buy", time_in_force=TimeInForce.GTC, limit_price=100)
        placed = await asyncio.to_thread(trading.submit_order, limit)
        update = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert update["stream"] == "trade_updates" and update["data"]["event"] == "new"
        assert update["data"]["order"]["id"] == str(placed.id) and "timestamp" in update["data"]
    async with websockets.connect(ws_url(sherwood, "/stream")) as ws:
        auth = {"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": trader.secret}}
        await ws.send(orjson.dumps(auth).decode())
        assert orjson.loads(await ws.recv())["data"]["status"] == "authorized"
        keys = (await asyncio.to_thread(httpx.get, f"{sherwood.url}/api/keys", headers=trader.session)).json()
        key_id = keys["keys"][0]["id"]
        await asyncio.to_thread(httpx.delete, f"{sherwood.url}/api/keys/{key_id}", headers=trader.session)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT)
