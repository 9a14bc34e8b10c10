"""Rolls live quotes into one-minute candles."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from models.market import Candle, Quote

MINUTE_MS = 60_000


@dataclass(slots=True)
class _Forming:
    """The candle of the current minute while quotes still arrive."""

    start_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    def add(self, price: Decimal, traded: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += traded

    def candle(self) -> Candle:
        return Candle(
            t=datetime.fromtimestamp(self.start_ms / 1000, tz=UTC),
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
        )


class CandleBuilder:
    """Minute candles per symbol from a stream of quotes; volume is the growth of the day volume."""

    def __init__(self) -> None:
        self._forming: dict[str, _Forming] = {}
        self._day_volume: dict[str, int] = {}

    def add(self, quote: Quote) -> Candle | None:
        """Fold a quote in; returns the symbol's finished candle when this quote opens a new minute."""
        traded = self._traded(quote)
        minute = quote.timestamp - quote.timestamp % MINUTE_MS
        forming = self._forming.get(quote.symbol)
        if forming is not None and minute <= forming.start_ms:  # a late quote still counts in the open bar
            forming.add(quote.last, traded)
            return None
        price = quote.last
        self._forming[quote.symbol] = _Forming(minute, price, price, price, price, traded)
        return None if forming is None else forming.candle()

    def current(self, symbol: str) -> Candle | None:
        """The forming candle of a symbol, or None before its first quote."""
        forming = self._forming.get(symbol)
        return None if forming is None else forming.candle()

    def _traded(self, quote: Quote) -> int:
        """Shares traded since the symbol's previous quote."""
        previous = self._day_volume.get(quote.symbol)
        self._day_volume[quote.symbol] = quote.volume
        if previous is None:  # the first quote seen carries the day so far, not this minute's trading
            return 0
        if quote.volume < previous:  # the day rolled over: volume restarted from zero
            return quote.volume
        return quote.volume - previous
