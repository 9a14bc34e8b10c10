"""The watchlist: live prices of the user's symbols, add by searching, remove with one click."""

from nicegui import ui

from components.quote_board import QuoteBoard
from models.user import UserPublic
from pages.session import call
from services import symbols, watchlist
from services.errors import DomainError


class WatchlistPanel:
    def __init__(self, user: UserPublic):
        self.user = user
        with ui.card().classes("sw-card w-full p-4 gap-2").props('data-testid="watchlist"'):
            ui.label("Watchlist").classes("text-lg font-semibold")
            options = {x.symbol: f"{x.symbol} · {x.name}" for x in symbols.listings()}
            self.picker = ui.select(options, with_input=True, label="Add a symbol").props(
                'dense outlined input-debounce=0 behavior=menu data-testid="watch-add"'
            )
            self.picker.classes("w-full")
            self.picker.on_value_change(self._add)
            self.board = QuoteBoard(empty="Add symbols to follow their prices here.").props('data-testid="watch-rows"')
            self.board.on("remove", lambda event: self._remove(event.args))

    async def load(self) -> None:
        self.board.show(await call(watchlist.symbols, self.user.id))

    async def _add(self, event) -> None:
        if not event.value:
            return
        try:
            self.board.show(await call(watchlist.add, self.user.id, event.value))
        except DomainError as exc:
            ui.notify(exc.message, type="negative")
        self.picker.set_value(None)

    async def _remove(self, symbol: str) -> None:
        self.board.show(await call(watchlist.remove, self.user.id, symbol))
