"""The watchlist: live prices of the user's symbols, add by searching, remove with one click."""

from nicegui import ui

from components.quote_board import QuoteBoard
from components.symbol_picker import SymbolPicker
from models.user import UserPublic
from services.infra.errors import DomainError
from services.runtime import call
from services.watchlists import watchlist


class WatchlistPanel:
    def __init__(self, user: UserPublic):
        self.user = user
        with ui.card().classes("sw-card w-full p-4 gap-2").props('data-testid="watchlist"'):
            ui.label("Watchlist").classes("text-lg font-semibold")
            self.picker = SymbolPicker("Add a symbol", self._add).props('data-testid="watch-add"').classes("w-full")
            self.board = QuoteBoard(empty="Add symbols to follow their prices here.").props('data-testid="watch-rows"')
            self.board.on("remove", lambda event: self._remove(event.args))

    async def load(self) -> None:
        self.board.show(await call(watchlist.symbols, self.user.id))

    async def _add(self, symbol: str) -> None:
        try:
            self.board.show(await call(watchlist.add, self.user.id, symbol))
        except DomainError as exc:
            ui.notify(exc.message, type="negative")
        self.picker.reset()

    async def _remove(self, symbol: str) -> None:
        self.board.show(await call(watchlist.remove, self.user.id, symbol))
