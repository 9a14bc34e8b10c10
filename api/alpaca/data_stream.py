"""The real-time stock stream at /alpaca/v2/{iex|sip|delayed_sip}: Alpaca's protocol over Sherwood's quote hub (the
one subscription per process that /ws rides), with trades, quotes and minute bars.

Frames are MessagePack (binary, `t` a msgpack Timestamp) when the handshake says `Content-Type:
application/msgpack`, as both Python SDKs do, else JSON text (`t` an RFC 3339 string). Every server message is an
array. Quotes reach a client at most once per 50 ms per symbol, only the newest: a slow client loses stale ticks,
never anyone else's time.
"""

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgpack
import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected

from api.alpaca.market_data import EXCHANGE, LOT
from api.deps import Credentials, identify
from models.market import Candle, Quote
from services import runtime
from services.infra.errors import DomainError
from services.infra.tasks import cancel_and_wait
from services.market import symbols
from services.market.candles import CandleBuilder
from services.market.quote_hub import QuoteHub

log = logging.getLogger(__name__)
router = APIRouter()

FEEDS = ("iex", "sip", "delayed_sip")
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
AUTH_TIMEOUT = 10.0
BAR_BACKLOG = 1000
MAX_FRAME_ITEMS = 1000  # data messages per frame: well under the clients' 1 MiB frame limit


def _subscription(subscribed: dict[str, set[str]]) -> dict[str, Any]:
    lists = {channel: sorted(subscribed[channel]) for channel in CHANNELS}
    return {"T": "subscription", **lists, "corrections": lists["trades"], "cancelErrors": lists["trades"]}


class _BarTap:
    """Minute bars for the streams of one process, rolled from the hub's quotes (the feed stores its own)."""

    def __init__(self, hub: QuoteHub):
        self._builder = CandleBuilder()
        self.streams: set[DataStream] = set()
        hub.add_listener(self._quotes)

    def _quotes(self, quotes: list[Quote]) -> None:
        for quote in quotes:
            finished = self._builder.add(quote)
            if finished is not None:
                for stream in list(self.streams):
                    stream.offer_bar(quote.symbol, finished)


_taps: weakref.WeakKeyDictionary[QuoteHub, _BarTap] = weakref.WeakKeyDictionary()


def _tap(hub: QuoteHub) -> _BarTap:
    if hub not in _taps:
        _taps[hub] = _BarTap(hub)
    return _taps[hub]


@router.websocket("/v2/{feed}")
async def stock_stream(websocket: WebSocket, feed: str) -> None:
    if feed not in FEEDS:
        await websocket.close(1008)  # before accept: the handshake is refused
        return
    await websocket.accept()
    await DataStream(websocket).serve()


class DataStream:
    def __init__(self, websocket: WebSocket):
        self._ws = websocket
        self._rt = runtime.current()
        self._msgpack = "msgpack" in websocket.headers.get("content-type", "").lower()
        self._quotes = self._rt.hub.open_stream()
        self._subscribed: dict[str, set[str]] = {channel: set() for channel in CHANNELS}
        self._day_volume: dict[str, int] = {}  # per symbol, what the last trade told: a new print moves it
        self._bars: asyncio.Queue[tuple[str, Candle]] = asyncio.Queue(BAR_BACKLOG)
        self._send_lock = asyncio.Lock()
        self._authenticated = False

    def offer_bar(self, symbol: str, bar: Candle) -> None:
        if symbol in self._subscribed["bars"] or "*" in self._subscribed["bars"]:
            with contextlib.suppress(asyncio.QueueFull):
                self._bars.put_nowait((symbol, bar))

    async def serve(self) -> None:
        tap = _tap(self._rt.hub)
        tap.streams.add(self)
        tasks = [asyncio.create_task(work) for work in (self._read(), self._send_ticks(), self._send_bars())]
        try:
            await self._send([{"T": "success", "msg": "connected"}])
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass
        finally:
            tap.streams.discard(self)
            await cancel_and_wait(tasks)
            self._quotes.close()
            with contextlib.suppress(Exception):
                await self._ws.close()

    # Reading.

    async def _read(self) -> None:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                while not self._authenticated:
                    if not await self._handle(await self._message()):
                        return
            while True:
                await self._handle(await self._message())
        except TimeoutError:
            await self._error(404, "auth timeout")
        except (WebSocketDisconnect, WebSocketDisconnected):
            return

    async def _message(self) -> dict[str, Any]:
        while True:
            event = await self._ws.receive()
            if event["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(event.get("code", 1000))
            message = _decode(event)
            if isinstance(message, dict):
                return message
            await self._error(400, "invalid syntax")

    async def _handle(self, message: dict[str, Any]) -> bool:
        """Act on one client message; False when the connection must end."""
        action = message.get("action")
        if action == "auth":
            if self._authenticated:
                await self._error(403, "already authenticated")
            elif await self._authenticate(message.get("key"), message.get("secret")):
                await self._send([{"T": "success", "msg": "authenticated"}])
            else:
                await self._error(402, "auth failed")
                return False
        elif action in ("subscribe", "unsubscribe"):
            if not self._authenticated:
                await self._error(401, "not authenticated")
            else:
                self._change(message, add=action == "subscribe")
                await self._send([_subscription(self._subscribed)])
        else:
            await self._error(400, "invalid syntax")
        return True

    async def _authenticate(self, key: Any, secret: Any) -> bool:
        if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
            return False
        credentials = Credentials(token=secret) if key == "oauth" else Credentials(key_id=key, secret=secret)
        try:
            await identify(credentials)
        except DomainError:
            return False
        self._authenticated = True
        return True

    def _change(self, message: dict[str, Any], *, add: bool) -> None:
        for channel in CHANNELS:
            wanted = message.get(channel)
            if not isinstance(wanted, list):
                continue
            names = {w if w == "*" else symbols.normalize(w) for w in wanted if isinstance(w, str)}
            names = {n for n in names if n == "*" or symbols.is_listed(n)}
            if add:
                self._subscribed[channel] |= names
            else:
                self._subscribed[channel] -= names
        followed = self._subscribed["trades"] | self._subscribed["quotes"]
        every = [listing.symbol for listing in symbols.listings()]
        wanted_now = set(every) if "*" in followed else followed
        self._quotes.unsubscribe([s for s in self._quotes.symbols if s not in wanted_now])
        self._quotes.subscribe(sorted(wanted_now))

    # Sending.

    async def _send_ticks(self) -> None:
        latest = self._rt.hub.latest
        while True:
            ticked = await self._quotes.next_symbols()
            messages = []
            for symbol in ticked:
                quote = latest.get(symbol)
                if quote is None:
                    continue
                size = self._print_size(quote)
                if size is not None and self._follows("trades", symbol):
                    messages.append(self._trade(quote, size))
                if self._follows("quotes", symbol):
                    messages.append(self._quote(quote))
            await self._send_data(messages)

    async def _send_bars(self) -> None:
        while True:
            symbol, bar = await self._bars.get()
            messages = [self._bar(symbol, bar)]
            while not self._bars.empty() and len(messages) < MAX_FRAME_ITEMS:
                messages.append(self._bar(*self._bars.get_nowait()))
            await self._send_data(messages)

    def _follows(self, channel: str, symbol: str) -> bool:
        wanted = self._subscribed[channel]
        return symbol in wanted or "*" in wanted

    def _print_size(self, quote: Quote) -> int | None:
        """The size of the trade this quote reports: what the day volume grew by since the last one told (a round
        lot for the first, or after the day rolled over); None when no trade happened."""
        previous = self._day_volume.get(quote.symbol)
        self._day_volume[quote.symbol] = quote.volume
        if previous is not None and quote.volume == previous:
            return None
        return quote.volume - previous if previous is not None and quote.volume > previous else LOT

    def _stamp(self, ms: int) -> Any:
        if self._msgpack:
            return msgpack.Timestamp.from_unix_nano(ms * 1_000_000)
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _trade(self, quote: Quote, size: int) -> dict[str, Any]:
        return {
            "T": "t",
            "S": quote.symbol,
            "i": quote.timestamp,
            "x": EXCHANGE,
            "p": float(quote.last),
            "s": size,
            "c": ["@"],
            "z": "C",
            "t": self._stamp(quote.timestamp),
        }

    def _quote(self, quote: Quote) -> dict[str, Any]:
        return {
            "T": "q",
            "S": quote.symbol,
            "bx": EXCHANGE,
            "bp": float(quote.bid),
            "bs": LOT,
            "ax": EXCHANGE,
            "ap": float(quote.ask),
            "as": LOT,
            "c": ["R"],
            "z": "C",
            "t": self._stamp(quote.timestamp),
        }

    def _bar(self, symbol: str, bar: Candle) -> dict[str, Any]:
        return {
            "T": "b",
            "S": symbol,
            "o": float(bar.open),
            "h": float(bar.high),
            "l": float(bar.low),
            "c": float(bar.close),
            "v": bar.volume,
            "n": None,
            "vw": None,
            "t": self._stamp(int(bar.t.timestamp() * 1000)),
        }

    async def _send_data(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_FRAME_ITEMS):
            await self._send(messages[start : start + MAX_FRAME_ITEMS])

    async def _error(self, code: int, text: str) -> None:
        await self._send([{"T": "error", "code": code, "msg": text}])

    async def _send(self, messages: Iterable[dict[str, Any]]) -> None:
        async with self._send_lock:
            if self._msgpack:
                await self._ws.send_bytes(msgpack.packb(list(messages)))
            else:
                await self._ws.send_text(orjson.dumps(list(messages)).decode())


def _decode(event: dict[str, Any]) -> Any:
    """A client frame: msgpack (the SDKs) or JSON, in a binary or text frame."""
    data = event.get("bytes")
    if data is not None:
        try:
            return msgpack.unpackb(data)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            pass
    try:
        return orjson.loads(data if data is not None else event.get("text") or b"")
    except orjson.JSONDecodeError:
        return None
