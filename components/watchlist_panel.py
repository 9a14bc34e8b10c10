"""The watchlist: live prices of the user's symbols, add by searching, remove with one click."""

from nicegui import ui

from components import live
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
            self.rows = ui.column().classes("w-full gap-0")

    async def load(self) -> None:
        self._render(await call(watchlist.symbols, self.user.id))

    def _render(self, names: list[str]) -> None:
        self.rows.clear()
        with self.rows:
            if not names:
                ui.label("Add symbols to follow their prices here.").classes("text-gray-500 text-sm")
            for symbol in names:
                self._row(symbol)

    def _row(self, symbol: str) -> None:
        quote = live.view(symbol)
        with ui.row().classes("w-full items-center no-wrap py-1 gap-2").props(f'data-testid="watch-{symbol}"'):
            with ui.column().classes("gap-0 flex-1 min-w-0"):
                ui.link(symbol, f"/stock/{symbol}").classes("font-semibold no-underline").style("color: inherit")
                ui.label().classes("text-xs text-gray-500 sw-num").bind_text_from(
                    quote, "bid", backward=lambda bid, quote=quote: f"{bid} × {quote.ask}"
                )
            with ui.column().classes("gap-0 items-end"):
                ui.label().classes("font-medium sw-num sw-tick").bind_text_from(quote, "last").props(
                    f'data-testid="watch-last-{symbol}"'
                )
                change = ui.label().classes("text-xs sw-num sw-sign")
                change.bind_text_from(quote, "change", backward=lambda text: text.split(" ")[-1].strip("()"))
                change.bind_visibility_from(quote, "change")
            ui.button(icon="close", on_click=lambda symbol=symbol: self._remove(symbol)).props(
                f'flat round dense size=sm color=grey-6 data-testid="unwatch-{symbol}"'
            )

    async def _add(self, event) -> None:
        if not event.value:
            return
        try:
            self._render(await call(watchlist.add, self.user.id, event.value))
        except DomainError as exc:
            ui.notify(exc.message, type="negative")
        self.picker.set_value(None)

    async def _remove(self, symbol: str) -> None:
        self._render(await call(watchlist.remove, self.user.id, symbol))
