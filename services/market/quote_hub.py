"""The process's view of the market: the latest quotes, kept current from the quote bus and fanned out in memory.

Each app process subscribes to the bus once. Consumers inside the process (WebSocket clients, the UI state,
the execution and alert engines) are fed from here, never from their own Redis connections.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import orjson

from models.market import Quote
from services.infra.bus import Bus
from services.market.quote_store import QuoteStore

log = logging.getLogger(__name__)

QUOTES_CHANNEL = "quotes"
BATCH_INTERVAL = 0.05  # seconds: at most one quote_batch per client per 50 ms
STALE_AFTER = 5.0  # seconds without word from the feed (quotes or heartbeat) before quotes count as stale (default)
STALE_CHECK_EVERY = 0.5  # seconds between checks that flag quotes stale (or live again) to every stream


def encode_batch(quotes: Iterable[Quote]) -> str:
    """A bus message carrying quotes (an empty batch is the feed's heartbeat); prices stay exact decimal strings."""
    return orjson.dumps({"quotes": [q.model_dump(mode="json") for q in quotes]}).decode()


def wire_message(kind: str, wire_quotes: Iterable[bytes]) -> bytes:
    """A `quotes` / `quote_batch` WebSocket message from pre-encoded quotes."""
    return b'{"type":"' + kind.encode() + b'","data":[' + b",".join(wire_quotes) + b"]}"


class QuoteStream:
    """One consumer's subscriptions: only the newest quote of each symbol waits, so a slow reader loses
    superseded ticks, never memory, and never holds up anyone else."""

    def __init__(self, hub: "QuoteHub"):
        self._hub = hub
        self.symbols: set[str] = set()
        self._pending: dict[str, bytes] = {}
        self._ready = asyncio.Event()
        self._last_batch = 0.0

    def subscribe(self, symbols: Iterable[str]) -> list[bytes]:
        """Follow these symbols; returns the latest encoded quote of each newly followed one."""
        added = [s for s in dict.fromkeys(symbols) if s not in self.symbols]
        for symbol in added:
            self.symbols.add(symbol)
            self._hub._streams[symbol].add(self)
        return [self._hub.wire[s] for s in added if s in self._hub.wire]

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            if symbol in self.symbols:
                self.symbols.discard(symbol)
                self._hub._streams[symbol].discard(self)
                self._pending.pop(symbol, None)

    def offer(self, symbol: str, wire: bytes) -> None:
        self._pending[symbol] = wire
        self._ready.set()

    async def _next_news(self) -> dict[str, bytes]:
        """Wait for news, at most once per BATCH_INTERVAL; the newest encoded quote of each symbol that ticked."""
        while True:
            await self._ready.wait()
            wait = self._last_batch + BATCH_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._ready.clear()
            if self._pending:
                pending, self._pending = self._pending, {}
                self._last_batch = time.monotonic()
                return pending

    async def next_batch(self) -> bytes:
        """Wait for news, at most one batch per BATCH_INTERVAL; returns a `quote_batch` message."""
        return wire_message("quote_batch", (await self._next_news()).values())

    async def next_symbols(self) -> list[str]:
        """Like `next_batch`, for streams that speak another protocol: the symbols that ticked (their newest quotes
        are the hub's `latest`)."""
        return list(await self._next_news())

    def close(self) -> None:
        self.unsubscribe(list(self.symbols))


class QuoteHub:
    def __init__(
        self,
        bus: Bus,
        store: QuoteStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        stale_after: float = STALE_AFTER,
    ):
        self._bus = bus
        self._store = store
        self._clock = clock
        self._stale_after = stale_after
        self._flagged_stale = False  # the encoded quotes carry "stale": true (streams were told)
        self._catching_up: asyncio.Task | None = None
        self.latest: dict[str, Quote] = {}
        self.wire: dict[str, bytes] = {}  # each latest quote in the WebSocket form, encoded once for every client
        self._streams: dict[str, set[QuoteStream]] = defaultdict(set)
        self._listeners: list[Callable[[list[Quote]], None]] = []
        self._last_heard = float("-inf")
        self._first_heard = asyncio.Event()

    @property
    def stale(self) -> bool:
        """True when the feed has been silent too long: quotes shown must then be marked, never passed as live,
        and no market order fills against them. Every batch and heartbeat of the feed confirms all its quotes,
        so this is the age of every quote the hub holds (a quiet symbol's last trade may be older; it still holds)."""
        return self._clock() - self._last_heard > self._stale_after

    def quotes(self, symbols: Iterable[str] | None = None) -> list[Quote]:
        if symbols is None:
            return list(self.latest.values())
        return [self.latest[s] for s in symbols if s in self.latest]

    def open_stream(self) -> QuoteStream:
        return QuoteStream(self)

    def add_listener(self, listener: Callable[[list[Quote]], None]) -> Callable[[], None]:
        """Call `listener` on the event loop with each batch of new quotes; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def watch(self) -> None:
        """Flag every quote stale on every stream once the feed falls silent, for as long as the process lives."""
        while True:
            await asyncio.sleep(STALE_CHECK_EVERY)
            if self.stale and not self._flagged_stale:
                if self._last_heard > float("-inf"):  # not at start-up, before the feed has said a word
                    log.warning("no word from the market feed for %.1f s: quotes are flagged stale", self._stale_after)
                self._reflag(stale=True)

    def _reflag(self, *, stale: bool) -> None:
        """Re-encode every latest quote with (or without) the stale flag and offer it to the streams that follow it."""
        self._flagged_stale = stale
        for symbol, quote in self.latest.items():
            self.wire[symbol] = wire = self._encode(quote)
            for stream in self._streams.get(symbol, ()):
                stream.offer(symbol, wire)

    def _encode(self, quote: Quote) -> bytes:
        wire = quote.to_wire()
        if self._flagged_stale:
            wire["stale"] = True  # the last known price, not a live one
        return orjson.dumps(wire)

    async def first_word(self) -> None:
        """Return once the feed has been heard and the hub holds every symbol's latest quote: the feed stores
        quotes before it publishes them, so what was published before this process subscribed is in the store."""
        await self._first_heard.wait()
        await self._catch_up()

    async def _catch_up(self) -> None:
        """Symbols that ticked while this process heard nothing may not tick again soon: take their latest
        quotes from the store (older ones than we hold are ignored)."""
        self.receive(await self._store.load(), heard=False)

    async def run(self) -> None:
        """Load the last known quotes, then follow the bus for as long as the process lives."""
        self.receive(await self._store.load(), heard=False)
        async for _channel, message in self._bus.subscribe(QUOTES_CHANNEL):
            try:
                quotes = [Quote.model_validate(q) for q in orjson.loads(message)["quotes"]]
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("ignored a malformed quote message: %s", exc)
                continue
            self.receive(quotes)

    def receive(self, quotes: list[Quote], *, heard: bool = True) -> None:
        if heard:
            self._last_heard = self._clock()
            self._first_heard.set()
            if self._flagged_stale:
                log.info("the market feed is heard again: quotes are live")
                self._reflag(stale=False)
                self._catching_up = asyncio.get_running_loop().create_task(self._catch_up())
        accepted = []
        for quote in quotes:
            previous = self.latest.get(quote.symbol)
            if previous is not None and previous.timestamp > quote.timestamp:
                continue  # a late message must not roll a price back
            wire = self._encode(quote)
            self.latest[quote.symbol] = quote
            self.wire[quote.symbol] = wire
            accepted.append(quote)
            for stream in self._streams.get(quote.symbol, ()):
                stream.offer(quote.symbol, wire)
        if accepted and heard:  # engines act on news from the feed, not on quotes remembered from before
            for listener in list(self._listeners):
                try:
                    listener(accepted)
                except Exception:
                    log.exception("quote listener failed")
