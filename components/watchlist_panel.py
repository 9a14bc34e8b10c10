"""The watchlists: live prices of the symbols of one of the user's named lists; switch between lists, make,
rename and delete them; add symbols by searching, remove one with a click."""

import uuid

from nicegui import ui

from components import dialogs
from components.quote_board import QuoteBoard
from components.symbol_picker import SymbolPicker
from models.user import UserPublic
from models.watchlist import MAX_NAME, NamedWatchlist
from services.infra.errors import DomainError
from services.runtime import call
from services.watchlists import watchlist


class WatchlistPanel:
    def __init__(self, user: UserPublic):
        self.user = user
        self.lists: list[NamedWatchlist] = []
        self.current: uuid.UUID | None = None
        with ui.card().classes("sw-card w-full p-4 gap-2").props('data-testid="watchlist"') as self.card:
            with ui.row().classes("w-full items-center no-wrap gap-1"):
                self.choice = ui.select({}, on_change=lambda e: e.value and self._switch(e.value))
                self.choice.props('dense borderless options-dense data-testid="watch-lists"').classes(
                    "flex-1 min-w-0 text-lg font-semibold"
                )
                with ui.button(icon="more_horiz").props('flat round dense aria-label="List actions"'):
                    self.actions = ui.menu().props('data-testid="watch-actions"')
                with self.actions:
                    ui.menu_item("New list", self._ask_new).props('data-testid="watch-new"')
                    ui.menu_item("Rename list", self._ask_rename).props('data-testid="watch-rename"')
                    ui.menu_item("Delete list", self._ask_delete).props('data-testid="watch-delete"')
            self.picker = SymbolPicker("Add a symbol", self._add).props('data-testid="watch-add"').classes("w-full")
            self.board = QuoteBoard(empty="Add symbols to follow their prices here.", mini_charts=True)
            self.board.props('data-testid="watch-rows"')
            with ui.column().classes("w-full items-start gap-2").props('data-testid="no-lists"') as self.no_lists:
                ui.label("You have no lists. Make one to follow stocks here.").classes("text-gray-500 text-sm")
                ui.button("Create a list", on_click=self._ask_new).props(
                    'outline no-caps rounded data-testid="watch-first-list"'
                )
            self.no_lists.visible = False
            self.board.on("remove", lambda event: self._remove(event.args))

    async def load(self, current: uuid.UUID | None = None) -> None:
        """Read the lists again and show `current` (else the one shown, else the first)."""
        self.lists = await call(watchlist.lists, self.user.id)
        ids = [w.id for w in self.lists]
        wanted = current or self.current
        self.current = wanted if wanted in ids else (ids[0] if ids else None)
        self._show()

    def _show(self) -> None:
        self.choice.set_options({str(w.id): w.name for w in self.lists}, value=self.current and str(self.current))
        shown = next((w for w in self.lists if w.id == self.current), None)
        self.board.show(shown.symbols if shown else [])
        if self.picker.visible != (shown is not None):  # an update would open the picker's menu again
            self.picker.set_visibility(shown is not None)
        self.board.visible = self.choice.visible = shown is not None
        self.no_lists.visible = shown is None

    def _switch(self, value: str) -> None:
        if str(self.current) != value:
            self.current = uuid.UUID(value)
            self._show()

    def _replace(self, changed: NamedWatchlist) -> None:
        self.lists = [changed if w.id == changed.id else w for w in self.lists]
        self._show()

    def _told(self, exc: DomainError) -> None:
        with self.card:  # a living element: the dialog that asked may be gone
            ui.notify(exc.message, type="negative")

    async def _add(self, symbol: str) -> None:
        if self.current is not None:
            try:
                self._replace(await call(watchlist.add_symbol, self.user.id, self.current, symbol))
            except DomainError as exc:
                self._told(exc)
        self.picker.reset()

    async def _remove(self, symbol: str) -> None:
        if self.current is not None:
            self._replace(await call(watchlist.remove_symbol, self.user.id, self.current, symbol))

    def _ask_name(self, title: str, testid: str, label: str, initial: str, action) -> None:
        shown, card = dialogs.dialog(self.card, title, testid)
        with card:
            name = ui.input("List name", value=initial).props(f'outlined maxlength={MAX_NAME} data-testid="list-name"')
            name.classes("w-full")

        async def confirmed() -> None:
            try:
                await action(name.value or "")
            except DomainError as exc:
                name.props(f'error error-message="{exc.message}"')
                return
            shown.close()

        with card:
            dialogs.buttons(shown, label, confirmed)
        name.on("keydown.enter", confirmed)
        shown.open()

    def _ask_new(self) -> None:
        async def create(name: str) -> None:
            made = await call(watchlist.create, self.user.id, name=name.strip())
            await self.load(made.id)
            with self.card:
                ui.notify(f"Made the list {made.name}")

        self._ask_name("New list", "new-list-dialog", "Create list", "", create)

    def _ask_rename(self) -> None:
        shown = next((w for w in self.lists if w.id == self.current), None)
        if shown is None:
            return

        async def rename(name: str) -> None:
            self._replace(await call(watchlist.update, self.user.id, shown.id, name=name.strip()))

        self._ask_name("Rename list", "rename-list-dialog", "Save", shown.name, rename)

    def _ask_delete(self) -> None:
        shown = next((w for w in self.lists if w.id == self.current), None)
        if shown is None:
            return

        async def delete() -> None:
            await call(watchlist.delete, self.user.id, shown.id)
            self.current = None
            await self.load()
            with self.card:
                ui.notify(f"Deleted the list {shown.name}")

        count = len(shown.symbols)
        text = f"Its {count} symbol{'' if count == 1 else 's'} will no longer be followed here."
        dialogs.confirm(self.card, f"Delete {shown.name}?", "delete-list-dialog", text, "Delete list", delete)
