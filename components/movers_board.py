"""Today's movers on the Discover page. One ranking per process, refreshed every few seconds for every sector by
one app timer (not per viewer per tick), and each list's rows kept live by the quote flush (components.live)."""

import weakref

from nicegui import app, ui

from components.numbers import compact
from components.quote_board import QuoteBoard
from services import runtime
from services.market import movers, symbols

RANK_SECONDS = 2.0  # the lists reorder this often; their prices move at every flush
COUNT = 10  # rows per list
KINDS = {"gainers": "Top gainers", "losers": "Top losers", "active": "Most active"}

_ranked: dict[str, movers.Movers] = {}  # sector (or movers.ALL) -> its movers, as last ranked
_boards: "weakref.WeakSet[MoversBoard]" = weakref.WeakSet()


def _names() -> dict[str, str]:
    return {listing.symbol: listing.name for listing in symbols.listings()}


def rerank() -> None:
    """Rank every sector from the latest quotes, then move the rows of the lists whose ranking changed."""
    latest = runtime.current().hub.latest
    for sector in (movers.ALL, *movers.sectors()):
        _ranked[sector] = movers.rank(latest, movers.of_sector(sector), COUNT)
    for board in list(_boards):
        board.follow_ranking()


def start() -> None:
    """Rank on a clock (once per process, at start-up)."""
    app.timer(RANK_SECONDS, rerank)


class MoversBoard(QuoteBoard, component="movers_board.js"):
    """One list (gainers, losers or most active) of one sector, live."""

    def __init__(self, kind: str, sector: str = movers.ALL):
        super().__init__(empty="Nothing here yet today.")
        self.kind, self.sector = kind, sector
        self._props["kind"] = kind
        self._props["names"] = _names()
        self._props["notes"] = {}
        _boards.add(self)
        ui.context.client.on_delete(lambda: _boards.discard(self))
        self.follow_ranking()

    def choose(self, sector: str) -> None:
        self.sector = sector
        self.follow_ranking()

    def follow_ranking(self) -> None:
        if self.sector not in _ranked:
            rerank()  # the first page of a process: not a tick's wait
        ranked = list(getattr(_ranked[self.sector], self.kind))
        notes = {}
        if self.kind == "active":
            latest = runtime.current().hub.latest
            notes = {s: f"{compact(latest[s].volume)} shares" for s in ranked if s in latest}
        if ranked != list(self._shown) or notes != self._props["notes"]:
            self._props["notes"] = notes
            self.show(ranked)
