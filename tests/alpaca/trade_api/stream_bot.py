"""A bot written for alpaca-trade-api 3.2.0's Stream, run by the tests with the python of .venv-ata. Pointed at
Sherwood by the README's APCA_* variables only, it listens to trade_updates and subscribes to the quotes, trades
and minute bars of one symbol; once the server has acknowledged both (read from what the SDK dispatches), it buys
`SYMBOL` at market and rests a limit buy of `DATA_SYMBOL` under its ask, which the execution engine fills as the
test's ticks fall. It prints one JSON object: the trade updates of its orders, the first quote and trade, and the
second bar.
"""

import asyncio
import contextlib
import json
import os
import sys

import alpaca_trade_api as tradeapi
from alpaca_trade_api.stream import Stream

SYMBOL, DATA_SYMBOL = os.environ["SYMBOL"], os.environ["DATA_SYMBOL"]
WAIT = float(os.environ.get("WAIT", "30"))

api = tradeapi.REST()
stream = Stream(data_feed="iex")  # APCA_API_BASE_URL for trade updates, APCA_API_STREAM_URL for market data
updates: asyncio.Queue = asyncio.Queue()
seen: dict[str, asyncio.Future] = {}
acknowledged = {"listening": asyncio.Event(), "subscription": asyncio.Event()}


def spy(sdk_stream, key: str, value: str, event: asyncio.Event) -> None:
    """Note the server's acknowledgement, which the SDK reads but hands to no handler."""
    dispatch = sdk_stream._dispatch

    async def spying(message):
        if message.get(key) == value:
            event.set()
        await dispatch(message)

    sdk_stream._dispatch = spying


def nth(kind: str, n: int = 1):
    """A handler that keeps the n-th item of its kind."""
    count = 0

    async def handler(item):
        nonlocal count
        count += 1
        if count == n:
            seen[kind].set_result(item)

    return handler


async def on_update(update):
    await updates.put(update)


async def until(order_id: str, event: str):
    while True:
        update = await asyncio.wait_for(updates.get(), WAIT)
        if update.order["id"] == order_id and update.event == event:
            return update


def told(update) -> dict:
    return {
        "event": update.event,
        "order_status": update.order["status"],
        "price": update.price,
        "qty": update.qty,
        "position_qty": update.position_qty,
        "execution_id": update.execution_id,
        "timestamp": update.timestamp,
    }


def nanoseconds(item) -> int:
    """`t` as the SDK made it of the frame's msgpack Timestamp: Unix nanoseconds."""
    return item._raw["timestamp"]


async def main() -> dict:
    loop = asyncio.get_running_loop()
    for kind in ("quote", "trade", "bar"):
        seen[kind] = loop.create_future()
    spy(stream._trading_ws, "stream", "listening", acknowledged["listening"])
    spy(stream._data_ws, "T", "subscription", acknowledged["subscription"])
    stream.subscribe_trade_updates(on_update)
    stream.subscribe_quotes(nth("quote"), DATA_SYMBOL)
    stream.subscribe_trades(nth("trade"), DATA_SYMBOL)
    stream.subscribe_bars(nth("bar", 2), DATA_SYMBOL)  # the first may have begun before the server rolled bars
    running = asyncio.create_task(stream._run_forever())
    try:
        for event in acknowledged.values():
            await asyncio.wait_for(event.wait(), WAIT)
        bought = await asyncio.to_thread(api.submit_order, SYMBOL, 1, "buy", "market", "day")
        new, fill = await until(bought.id, "new"), await until(bought.id, "fill")
        quote = await asyncio.wait_for(seen["quote"], WAIT)
        limit_price = round(quote.ask_price - 1, 2)
        resting = await asyncio.to_thread(api.submit_order, DATA_SYMBOL, 2, "buy", "limit", "gtc", limit_price)
        engine_fill = await until(resting.id, "fill")
        trade = await asyncio.wait_for(seen["trade"], WAIT)
        bar = await asyncio.wait_for(seen["bar"], WAIT)
    finally:  # as a bot at its exit: no waiting for the SDK's 5-second read timeouts to notice the stop
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await stream._trading_ws.close()
        await stream._data_ws.close()
    return {
        "bought": bought.id,
        "new": told(new),
        "fill": told(fill),
        "limit_price": limit_price,
        "engine_fill": {**told(engine_fill), "order_id": engine_fill.order["id"], "ordered": resting.id},
        "quote": {"symbol": quote.symbol, "bid": quote.bid_price, "ask": quote.ask_price, "t": nanoseconds(quote)},
        "trade": {"symbol": trade.symbol, "price": trade.price, "size": trade.size, "t": nanoseconds(trade)},
        "bar": {
            "symbol": bar.symbol,
            "open": bar.open,
            "close": bar.close,
            "volume": bar.volume,
            "t": nanoseconds(bar),
        },
    }


json.dump(asyncio.run(main()), sys.stdout, default=str)
