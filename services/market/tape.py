"""The recent tape: every quote this process heard in the last TAPE_WINDOW, per symbol, for broker APIs' historical
trades and quotes (the Alpaca surface). Older ranges are not kept: candles are the long history.

Kept compactly (parallel arrays of numbers, not objects): at the simulator's 200 quotes a second, 20 minutes is
about 240,000 ticks, some 10 MB. Every instance hears every quote, so each keeps the same window from its start.
"""

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from models.market import Quote

TAPE_WINDOW_MS = 20 * 60_000  # the contract asks for at least the last 15 minutes
_TRIM_EVERY = 512  # ticks a symbol takes between trims of its expired head


@dataclass(frozen=True, slots=True)
class Tick:
    timestamp: int  # Unix ms
    bid: float
    ask: float
    last: float
    volume: int  # the day's volume so far
    printed: int | None  # shares traded since the previous tick (None: this tick reports no trade)


@dataclass
class _Series:
    stamps: array = field(default_factory=lambda: array("q"))
    bids: array = field(default_factory=lambda: array("d"))
    asks: array = field(default_factory=lambda: array("d"))
    lasts: array = field(default_factory=lambda: array("d"))
    volumes: array = field(default_factory=lambda: array("q"))
    since_trim: int = 0

    def append(self, quote: Quote) -> None:
        if self.stamps and quote.timestamp < self.stamps[-1]:
            return  # the hub already refuses older quotes; keep the tape in time order regardless
        self.stamps.append(quote.timestamp)
        self.bids.append(float(quote.bid))
        self.asks.append(float(quote.ask))
        self.lasts.append(float(quote.last))
        self.volumes.append(quote.volume)
        self.since_trim += 1

    def trim(self, before_ms: int) -> None:
        cut = bisect_left(self.stamps, before_ms)
        if cut:
            for column in (self.stamps, self.bids, self.asks, self.lasts, self.volumes):
                del column[:cut]
        self.since_trim = 0

    def tick(self, i: int) -> Tick:
        volume = self.volumes[i]
        previous = self.volumes[i - 1] if i else volume  # the oldest kept tick: nothing to tell a trade by
        grown = volume - previous if volume >= previous else volume  # the day rolled over: counted from zero
        return Tick(self.stamps[i], self.bids[i], self.asks[i], self.lasts[i], volume, grown or None)


class RecentTape:
    def __init__(self, window_ms: int = TAPE_WINDOW_MS):
        self._window = window_ms
        self._series: dict[str, _Series] = {}

    def add(self, quotes: list[Quote]) -> None:
        """A batch of quotes from the feed (the hub calls this on the event loop)."""
        for quote in quotes:
            series = self._series.setdefault(quote.symbol, _Series())
            series.append(quote)
            if series.since_trim >= _TRIM_EVERY:
                series.trim(quote.timestamp - self._window)

    def ticks(self, symbol: str, start_ms: int, end_ms: int) -> list[Tick]:
        """The symbol's ticks with start <= timestamp <= end, oldest first (only what the window still holds)."""
        series = self._series.get(symbol)
        if series is None:
            return []
        newest = series.stamps[-1] if series.stamps else 0
        first = max(bisect_left(series.stamps, start_ms), bisect_left(series.stamps, newest - self._window))
        last = bisect_right(series.stamps, end_ms)
        return [series.tick(i) for i in range(first, last)]
