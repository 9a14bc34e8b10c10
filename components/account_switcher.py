"""The header's account switcher: which account this page shows and trades, and a menu to choose another."""

import uuid

from nicegui import app, ui

from components.numbers import money
from models.account import Account, AccountPublic
from models.user import UserPublic
from services import runtime
from services.runtime import call
from services.trading import accounts

ACCOUNT_KEY = "account"  # in the browser's storage: the id of the account chosen in the header


class AccountSwitcher:
    def __init__(self, user: UserPublic, account: Account):
        self.user, self.account_id = user, account.id
        self.button = ui.button().props(
            'flat dense no-caps color=grey-8 icon-right=expand_more aria-label="Switch account"'
            ' data-testid="account-switcher"'
        )
        with self.button:
            ui.icon("account_balance_wallet").classes("gt-xs mr-1")
            # A phone shows a short name: the header's first line has to hold it.
            self.name = ui.label(account.name).classes("truncate max-w-[5rem] sm:max-w-[12rem] font-medium")
            self.name.props('data-testid="account-name"')
            with ui.menu().props('data-testid="account-menu-list"') as self.menu:
                self.options = ui.list().classes("min-w-64 py-1")
        # Listed when opened, so the equities are those of now; a page nobody opens it on costs nothing.
        self.menu.on_value_change(lambda event: self.load() if event.value else None)

    async def load(self) -> None:
        self.show(await call(accounts.list_public, self.user.id, runtime.current().hub.latest))

    def show(self, listed: list[AccountPublic]) -> None:
        """Show these accounts (the user's open ones, the default first); if this page's account is gone from
        them, the default, which the next page load falls back to as well."""
        shown = next((a for a in listed if a.id == self.account_id), listed[0])
        self.account_id, self.name.text = shown.id, shown.name
        self.options.clear()
        with self.options:
            ui.item_label("Accounts").props("header").classes("text-gray-500 text-xs uppercase")
            for account in listed:
                self._option(account, selected=account.id == shown.id)

    def _option(self, account: AccountPublic, *, selected: bool) -> None:
        item = ui.item(on_click=lambda: self.choose(account.id)).props("clickable")
        item.props["data-testid"] = f"account-option-{account.name}"  # set, not parsed: a name may hold quotes
        with item:
            with ui.item_section().props("avatar"):
                ui.icon("check").classes("text-primary" if selected else "invisible")
            with ui.item_section():
                ui.item_label(account.name).classes("font-medium")
                kind = account.kind.capitalize() + (" · default" if account.is_default else "")
                ui.item_label(kind).props("caption")
            with ui.item_section().props("side"):
                ui.item_label(money(account.equity)).classes("sw-num font-medium")
        if selected:
            item.props("active")

    def choose(self, account_id: uuid.UUID) -> None:
        self.menu.close()
        if account_id == self.account_id:
            return
        app.storage.user[ACCOUNT_KEY] = str(account_id)
        ui.navigate.reload()  # every part of the page was built for the old account
