"""Learns when each price appeared on the server, to time the page updates that show it.

Price labels carry no timestamp, so the tap polls `GET /api/quotes` and keeps every distinct quote it sees. Each
quote carries the feed's own publish time (Unix ms, stamped in the app process on this machine's clock), so polling
late does not skew the figure; the feed steps every 100 ms, so a 50 ms poll sees nearly every quote.
"""

import asyncio
import bisect
import time
from collections import defaultdict
from decimal import Decimal, InvalidOperation

import httpx

LOOKBACK = 200  # quotes of one symbol searched back for a shown price: bounded, and far more than a few seconds


class QuoteTap:
    def __init__(self, base_url: str, period: float):
        self._url = f"{base_url}/api/quotes"
        self._period = period
        self._times: dict[str, list[int]] = defaultdict(list)  # symbol -> publish times, ascending
        self._prices: dict[str, list[Decimal]] = defaultdict(list)  # symbol -> last price of each of those quotes
        self.polls = 0
        self.failures = 0
        self.rtts: list[float] = []  # seconds per poll; the endpoint runs on the app's event loop: a lag gauge

    async def run(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        next_poll = time.monotonic()
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await http.get(self._url, timeout=2)
                response.raise_for_status()
                self.rtts.append(time.monotonic() - started)
                self._record(response.json()["quotes"])
                self.polls += 1
            except (httpx.HTTPError, ValueError, KeyError):
                self.failures += 1
            next_poll += self._period
            await asyncio.sleep(max(0.0, next_poll - time.monotonic()))

    def _record(self, quotes: list[dict]) -> None:
        for quote in quotes:
            symbol, stamp = quote["symbol"], int(quote["timestamp"])
            times = self._times[symbol]
            if times and stamp <= times[-1]:
                continue  # seen already (or older)
            times.append(stamp)
            self._prices[symbol].append(Decimal(quote["last"]))

    def appeared_ms(self, symbol: str, text: str, received_ms: float) -> int | None:
        """When the price a page shows first became the symbol's last price (start of its latest run before
        `received_ms`); None when the tap never saw it or saw only the end of that run."""
        try:
            price = Decimal(text)
        except InvalidOperation:
            return None
        times, prices = self._times.get(symbol, []), self._prices.get(symbol, [])
        i = bisect.bisect_right(times, received_ms) - 1
        floor = max(0, i - LOOKBACK)
        while i >= floor and prices[i] != price:
            i -= 1
        if i < floor:
            return None
        while i > floor and prices[i - 1] == price:
            i -= 1
        return times[i] if i > 0 else None  # at index 0 the run may have begun before the tap started
