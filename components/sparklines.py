"""The day's mini charts (watchlist rows, positions): small SVG paths, one per symbol for the whole process.

Each symbol's path is built once per refresh, a few times a minute, for every page that shows it (not per viewer,
not per tick): from the day's stored minute closes (services.market.history) and, for the minutes not stored yet,
the recent tape (services.market.tape). A symbol shown for the first time is drawn at once, not at the next
refresh.
"""

import logging
import weakref
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Protocol

from nicegui import app, background_tasks, ui

from models.types import utcnow
from services import runtime
from services.infra.errors import UNAVAILABLE
from services.market import history
from services.runtime import call

WIDTH, HEIGHT = 64, 24  # the viewBox of every mini chart
MAX_POINTS = 48  # enough for the day's shape; keeps a path near 400 characters
REFRESH_SECONDS = 20.0  # three times a minute
MINUTE_MS = 60_000

log = logging.getLogger(__name__)

paths: dict[str, str] = {}  # symbol -> its path ("" when there are not yet two prices to draw)


class Follower(Protocol):
    """A page element that shows mini charts of `symbols` and redraws them on `lines_changed()`."""

    symbols: Iterable[str]

    def lines_changed(self) -> None: ...


_followers: "weakref.WeakSet[Follower]" = weakref.WeakSet()
_loading: set[str] = set()  # symbols whose first path is being built


def svg_path(prices: Sequence[Decimal], width: int = WIDTH, height: int = HEIGHT) -> str:
    """An SVG path through `prices` (oldest first), spread over the width and scaled to the height with the
    highest price on top; at most MAX_POINTS points, evenly chosen, the first and last kept. A flat line for
    steady prices; "" for fewer than two prices."""
    if len(prices) < 2:
        return ""
    if len(prices) > MAX_POINTS:
        step = (len(prices) - 1) / (MAX_POINTS - 1)
        prices = [prices[round(i * step)] for i in range(MAX_POINTS)]
    low, high = min(prices), max(prices)
    span = float(high - low)
    last = len(prices) - 1
    inner = height - 2  # a pixel of room above and below for the stroke

    def y(price: Decimal) -> float:  # floats only at the drawing edge
        return height / 2 if not span else 1 + inner * float(high - price) / span

    points = (f"{_num(width * i / last)},{_num(y(p))}" for i, p in enumerate(prices))
    return "M" + "L".join(points)


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def follow(follower: Follower) -> None:
    """Tell `follower` when its symbols' paths change, until its page goes; draw the ones not known yet."""
    _followers.add(follower)
    ui.context.client.on_delete(lambda: _followers.discard(follower))


def want(symbols: Iterable[str]) -> None:
    """Build the paths of these symbols now if none is known (a page opened between refreshes)."""
    missing = set(symbols) - paths.keys() - _loading
    if missing:
        _loading.update(missing)
        background_tasks.create(_build(missing), name="sparklines")


async def _build(symbols: set[str]) -> None:
    try:
        await refresh(symbols)
    finally:
        _loading.difference_update(symbols)


async def day_prices(symbols: Iterable[str]) -> dict[str, list[Decimal]]:
    """Each symbol's prices of the trading day, a minute apart, ending at its latest price."""
    rt = runtime.current()
    now = utcnow()
    opens, _ = rt.clock.session(rt.clock.trading_day(now))
    wanted = sorted(symbols)
    stored = await call(history.closes_since, wanted, opens)
    now_ms, latest = int(now.timestamp() * 1000), rt.hub.latest
    prices: dict[str, list[Decimal]] = {}
    for symbol in wanted:
        minutes = stored.get(symbol, [])
        closes = [close for _, close in minutes]
        after = minutes[-1][0] if minutes else opens
        after_ms = int(after.timestamp() * 1000) + (MINUTE_MS if minutes else 0)
        per_minute: dict[int, float] = {}  # the tape's last price of each minute not stored yet
        for tick in rt.tape.ticks(symbol, after_ms, now_ms):
            per_minute[tick.timestamp // MINUTE_MS] = tick.last
        closes += [Decimal(str(last)) for last in per_minute.values()]
        quote = latest.get(symbol)
        if quote is not None and (not closes or closes[-1] != quote.last):
            closes.append(quote.last)
        prices[symbol] = closes
    return prices


async def refresh(symbols: Iterable[str] | None = None) -> None:
    """Build the paths of `symbols` (by default every symbol a page shows), then redraw the pages showing them."""
    wanted = set(symbols) if symbols is not None else _shown()
    if not wanted:
        return
    try:
        prices = await day_prices(wanted)
    except UNAVAILABLE:  # the charts already drawn stay; the next refresh tries again
        log.warning("mini charts not refreshed: the database cannot answer")
        return
    if symbols is None:
        for gone in paths.keys() - _shown():  # shown nowhere now: built afresh if shown again
            del paths[gone]
    changed = set()
    for symbol, day in prices.items():
        path = svg_path(day)
        if paths.get(symbol) != path:
            paths[symbol] = path
            changed.add(symbol)
    for follower in list(_followers):  # those that came while the prices were read too
        if not changed.isdisjoint(follower.symbols):
            follower.lines_changed()


def _shown() -> set[str]:
    return {symbol for follower in list(_followers) for symbol in follower.symbols}


def start() -> None:
    """Refresh on a clock (once per process, at start-up)."""
    app.timer(REFRESH_SECONDS, refresh)
