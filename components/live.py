"""Live market state for the pages.

One app-wide flush copies the hub's latest quotes into bindable views (and quote boards) at most five times a
second, so labels bound to them update in every browser without per-page timers, and a browser receives
changes only for the symbols it shows. Pages that derive numbers from prices (portfolio value) subscribe to
`ticked`. The flush follows the feed: news arriving FLUSH_SECONDS after the last flush goes out at once; news
arriving sooner waits for the next news (a feed ticking every 100 ms then flushes at every other tick, so
coalescing adds 0 or 100 ms), or for a fallback timer when the feed falls silent.
"""

import asyncio
import weakref
from datetime import datetime
from typing import TYPE_CHECKING

from nicegui import Event, app, binding, ui

from models.market import Quote
from models.order import cents_text, price_text
from models.types import utcnow
from services import runtime
from services.market.quote_hub import QuoteHub

if TYPE_CHECKING:
    from components.quote_board import QuoteBoard

FLUSH_SECONDS = 0.2  # at most five updates a second: lively, yet cheap for hundreds of browsers
STATUS_SECONDS = 1.0  # open, closed or stale is checked on a clock too: a silent feed triggers no flush


@binding.bindable_dataclass
class QuoteView:
    """What a page shows of one symbol's quote, as display text."""

    last: str = "—"
    bid: str = "—"
    ask: str = "—"
    change: str = ""
    direction: str = "flat"  # up | down | flat: the colour of the change
    timestamp: int = 0


LABELS = {"open": "Market open", "closed": "Market closed", "stale": "Quotes delayed"}


@binding.bindable_dataclass
class MarketStatus:
    state: str = "open"  # open | closed | stale (the feed is silent: prices shown are the last known)
    label: str = LABELS["open"]


status = MarketStatus()
ticked: Event = Event()  # after each flush that changed something, with the symbols whose quotes changed
_views: dict[str, QuoteView] = {}
_boards: "weakref.WeakSet[QuoteBoard]" = weakref.WeakSet()
# symbol -> its quote board row, "symbol\tlast\tbid\task\tchange %": one string is cheap to send and to check
rows: dict[str, str] = {}
_last_flush = float("-inf")
_flush_soon = False  # a flush is queued on the loop
_fallback: asyncio.TimerHandle | None = None  # flushes held-back news if no more news comes


def view(symbol: str) -> QuoteView:
    """The live view of a symbol, filled from the latest quote at once."""
    if symbol not in _views:
        _views[symbol] = QuoteView()
        rows[symbol] = "\t".join((symbol, "—", "—", "—", ""))
        quote = runtime.current().hub.latest.get(symbol)
        if quote is not None:
            _show(_views[symbol], quote)
    return _views[symbol]


def follow(board: "QuoteBoard") -> None:
    """Refresh this board at each flush, until its page goes."""
    _boards.add(board)
    ui.context.client.on_delete(lambda: _boards.discard(board))


def signed(value, suffix: str = "") -> str:
    text = cents_text(value)
    return (text if text.startswith("-") else f"+{text}") + suffix


def _show(target: QuoteView, quote: Quote) -> None:
    target.last, target.bid, target.ask = price_text(quote.last), price_text(quote.bid), price_text(quote.ask)
    target.change = f"{signed(quote.change)} ({signed(quote.change_percent, '%')})"
    target.direction = "up" if quote.change > 0 else "down" if quote.change < 0 else "flat"
    target.timestamp = quote.timestamp
    percent = signed(quote.change_percent, "%")
    rows[quote.symbol] = "\t".join((quote.symbol, target.last, target.bid, target.ask, percent))


def flush(now: datetime | None = None) -> None:
    latest = runtime.current().hub.latest
    changed: set[str] = set()
    for symbol, shown in _views.items():
        quote = latest.get(symbol)
        if quote is not None and quote.timestamp != shown.timestamp:
            _show(shown, quote)
            changed.add(symbol)
    moved = check_status(now)
    if changed:
        for board in list(_boards):
            board.refresh(changed)
    if changed or moved:
        ticked.emit(changed)


def check_status(now: datetime | None = None) -> bool:
    """Market open, closed, or quotes stale; True when that changed."""
    rt = runtime.current()
    state = "stale" if rt.hub.stale else "open" if rt.clock.is_open(now or utcnow()) else "closed"
    if state == status.state:
        return False
    status.state, status.label = state, LABELS[state]
    return True


def _quotes_arrived(_quotes) -> None:
    """Flush soon if the last flush is FLUSH_SECONDS old (less a little for the feed's jitter), else hold the news
    for the next news or, at the latest, the fallback timer."""
    global _flush_soon, _fallback
    loop = asyncio.get_running_loop()
    waited = loop.time() - _last_flush
    if waited >= FLUSH_SECONDS * 0.9:
        if not _flush_soon:
            _flush_soon = True
            loop.call_soon(_feed_flush)  # after the hub's other listeners (the engines)
    elif _fallback is None:
        _fallback = loop.call_later(FLUSH_SECONDS * 1.5 - waited, _feed_flush)


def _feed_flush() -> None:
    global _flush_soon, _fallback, _last_flush
    if _fallback is not None:
        _fallback.cancel()
    _flush_soon, _fallback, _last_flush = False, None, asyncio.get_running_loop().time()
    flush()


def start(hub: QuoteHub) -> None:
    """Begin flushing (once per process, at start-up): after the hub's news, and on a clock for the status."""
    hub.add_listener(_quotes_arrived)
    app.timer(STATUS_SECONDS, lambda: check_status() and ticked.emit(set()))  # quotes only flush after news
