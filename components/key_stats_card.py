"""A stock's key statistics (open, high, low, volume, average volume, 52-week range, market cap) and what the
company does; the live quote is folded in at each tick of its symbol."""

import logging
import time

from nicegui import background_tasks, ui

from components import live
from components.numbers import compact, money
from models.types import utcnow
from services import runtime
from services.infra.errors import UNAVAILABLE
from services.market import key_stats
from services.market.symbols import Listing
from services.runtime import call

log = logging.getLogger(__name__)

# How old the stored figures may get before a tick reads them again: the session's open, high and low move on,
# and a fresh install's history arrives seconds after its first quotes.
RELOAD_SECONDS, RELOAD_EMPTY_SECONDS = 60.0, 5.0

STATISTICS = (
    ("open", "Open"),
    ("high", "High"),
    ("low", "Low"),
    ("volume", "Volume"),
    ("average-volume", "Average volume"),
    ("year-high", "52 Wk high"),
    ("year-low", "52 Wk low"),
    ("market-cap", "Market cap"),
)


def _highest(*values):
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _lowest(*values):
    known = [v for v in values if v is not None]
    return min(known) if known else None


class KeyStatsCard:
    def __init__(self, listing: Listing):
        self.listing = listing
        self.stats: key_stats.KeyStats | None = None
        self.loaded_at, self.loading = float("-inf"), False
        with ui.card().classes("sw-card w-full p-5 gap-3").props('data-testid="key-stats"'):
            ui.label("Key statistics").classes("text-xl font-semibold")
            self.values: dict[str, ui.label] = {}
            with ui.element("div").classes("grid grid-cols-2 sm:grid-cols-4 gap-x-6 gap-y-3 w-full"):
                for key, label in STATISTICS:
                    with ui.column().classes("gap-0"):
                        ui.label(label).classes("text-sm text-gray-500")
                        self.values[key] = (
                            ui.label("—").classes("sw-num font-medium").props(f'data-testid="stat-{key}"')
                        )
            if listing.figures_as_of is not None:
                as_of = listing.figures_as_of.strftime("%b %d, %Y").replace(" 0", " ")
                ui.label(f"Market cap from shares outstanding as of {as_of}.").classes("text-xs text-gray-500")
        with ui.card().classes("sw-card w-full p-5 gap-2").props('data-testid="about"'):
            ui.label(f"About {listing.symbol}").classes("text-xl font-semibold")
            ui.label(listing.about or listing.name).props('data-testid="about-line"')
            ui.label(f"Sector: {listing.sector}").classes("text-sm text-gray-500").props('data-testid="sector"')
        live.ticked.subscribe(self._tick)  # from the page: unsubscribed when the browser goes

    async def load(self) -> None:
        rt = runtime.current()
        self.loading = True
        try:
            self.stats = await call(key_stats.key_stats, self.listing.symbol, clock=rt.clock, now=utcnow())
        finally:
            self.loading, self.loaded_at = False, time.monotonic()
        self.show()

    def _tick(self, changed: set[str] | None = None) -> None:
        if changed is not None and self.listing.symbol not in changed:
            return
        self.show()
        known = self.stats is not None and self.stats.open is not None
        age = time.monotonic() - self.loaded_at
        if not self.loading and age > (RELOAD_SECONDS if known else RELOAD_EMPTY_SECONDS):
            self.loading = True
            background_tasks.create(self._reload(), name="key statistics")

    async def _reload(self) -> None:
        try:
            await self.load()
        except UNAVAILABLE as exc:  # the figures shown stay; the next tick tries again
            log.warning("key statistics could not be read, the database is unavailable: %s", str(exc).splitlines()[0])

    def show(self) -> None:
        stats = self.stats
        if stats is None:
            return
        quote = runtime.current().hub.latest.get(self.listing.symbol)
        last = quote.last if quote else None
        shown = {
            "open": money(stats.open),
            "high": money(_highest(stats.high, last)),
            "low": money(_lowest(stats.low, last)),
            "volume": compact(max(stats.volume, quote.volume) if quote else stats.volume),
            "average-volume": compact(stats.average_volume),
            "year-high": money(_highest(stats.year_high, last)),
            "year-low": money(_lowest(stats.year_low, last)),
            "market-cap": "—",
        }
        if self.listing.shares_outstanding and last is not None:
            shown["market-cap"] = "$" + compact(self.listing.shares_outstanding * last)
        for key, text in shown.items():
            self.values[key].text = text
