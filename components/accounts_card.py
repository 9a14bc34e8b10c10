"""The account page's list of the user's paper accounts: open another, rename, make default, reset, close."""

import functools
from collections.abc import Awaitable, Callable

from nicegui import ui
from pydantic import ValidationError

from components import dialogs
from components.numbers import money
from models.account import AccountChange, AccountCreate, AccountKind, AccountPublic
from models.order import Order
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import DomainError
from services.runtime import call
from services.trading import accounts


def _canceled_text(count: int) -> str:
    return f", {count} open order{'s' if count != 1 else ''} canceled" if count else ""


NAME_PROBLEMS = {"string_too_short": "Give the account a name.", "string_too_long": "Use 50 characters or fewer."}


def _name_problem(error: ValidationError) -> str:
    return NAME_PROBLEMS.get(error.errors()[0]["type"], "Use letters, digits and punctuation only.")


class AccountsCard:
    def __init__(self, user: UserPublic, on_listed: Callable[[list[AccountPublic]], None]):
        self.user, self.on_listed = user, on_listed
        self.starting_cash = runtime.current().settings.starting_cash
        with ui.card().classes("sw-card w-full max-w-2xl p-6 gap-3").props('data-testid="accounts-card"') as self.card:
            ui.label("Accounts").classes("text-lg font-semibold")
            ui.label("Each account has its own cash, positions and orders.").classes("text-sm text-gray-500")
            self.rows = ui.column().classes("w-full gap-0").props('data-testid="accounts"')
            with ui.row().classes("w-full items-start gap-2 no-wrap mt-2"):
                self.new_name = ui.input("New account name").props(
                    'outlined dense maxlength=50 data-testid="new-account-name"'
                )
                self.new_name.classes("flex-1")
                self.new_name.on("keydown.enter", self.open_account)
                self.open_button = ui.button("Open account", on_click=self.open_account)
                self.open_button.props('unelevated no-caps data-testid="open-account"').classes("rounded-full mt-1")
            ui.label(f"A new account starts with {money(self.starting_cash)} of paper money.").classes(
                "text-sm text-gray-500"
            )

    async def refresh(self) -> None:
        listed = await call(accounts.list_public, self.user.id, runtime.current().hub.latest)
        self.rows.clear()
        with self.rows:
            for index, account in enumerate(listed):
                if index:
                    ui.separator()
                self._row(account)
        self.on_listed(listed)

    def _row(self, account: AccountPublic) -> None:
        row = ui.row().classes("w-full items-center gap-2 py-3 no-wrap")
        row.props["data-testid"] = f"account-{account.name}"  # set, not parsed: a name may hold quotes
        # On a phone the numbers go under the name; the actions stay at the end of the row.
        with row, ui.row().classes("flex-1 min-w-0 items-center justify-between gap-x-6 gap-y-1"):
            with ui.row().classes("items-center gap-2 min-w-0"):
                ui.label(account.name).classes("font-medium break-all")
                if account.is_default:
                    ui.badge("Default").props("outline color=primary")
                if account.kind == AccountKind.LEAGUE:
                    ui.badge("League").props("outline color=grey-7")
            with ui.row().classes("gap-6 no-wrap"):
                for title, amount, testid in (("Cash", account.cash, "cash"), ("Equity", account.equity, "equity")):
                    with ui.column().classes("gap-0 sm:items-end"):
                        ui.label(title).classes("text-xs text-gray-500")
                        ui.label(money(amount)).classes("sw-num font-medium").props(f'data-testid="account-{testid}"')
        with (
            row,
            ui.button(icon="more_vert").props('flat round dense color=grey-7 aria-label="Account actions"') as more,
        ):
            more.props["data-testid"] = f"account-actions-{account.name}"
            with ui.menu():
                ui.menu_item("Rename", lambda: self._ask_name(account))
                if not account.is_default:
                    ui.menu_item("Make default", lambda: self.make_default(account))
                if account.kind == AccountKind.PERSONAL:
                    ui.menu_item("Reset", lambda: self._confirm_reset(account))
                if account.kind == AccountKind.PERSONAL and not account.is_default:
                    ui.menu_item("Close account", lambda: self._confirm_close(account))

    def _say(self, text: str, kind: str = "positive") -> None:
        with self.card:  # not from a dialog's button: the dialog is gone by now
            ui.notify(text, type=kind)

    # -- actions: each tells what happened, then shows the list as it is now -------------------------------------

    async def open_account(self) -> None:
        self.new_name.error = None
        try:
            name = AccountCreate(name=self.new_name.value or "").name
        except ValidationError as exc:
            self.new_name.error = _name_problem(exc)
            return
        self.open_button.props("loading")
        try:
            await call(
                accounts.open_personal, user_id=self.user.id, name=name, starting_cash=self.starting_cash, now=utcnow()
            )
        except DomainError as exc:
            more = " Close one to open another." if exc.code == "ACCOUNT_LIMIT" else ""
            self.new_name.error = exc.message + more
            return
        finally:
            self.open_button.props(remove="loading")
        self.new_name.value = ""
        self._say(f"Opened {name} with {money(self.starting_cash)}")
        await self.refresh()

    async def _change(self, account: AccountPublic, *, name: str | None, make_default: bool) -> bool:
        try:
            await call(
                accounts.change,
                user_id=self.user.id,
                account_id=account.id,
                name=name,
                make_default=make_default,
                now=utcnow(),
            )
        except DomainError as exc:  # closed meanwhile, in another tab
            self._say(exc.message, "negative")
            await self.refresh()
            return False
        return True

    async def make_default(self, account: AccountPublic) -> None:
        if await self._change(account, name=None, make_default=True):
            self._say(f"{account.name} is now your default account")
            await self.refresh()

    async def _ending(self, end: Callable[..., Awaitable[list[Order]]]) -> int | None:
        """Reset or close an account (through the money store) and publish the orders that ended with it, as a
        cancel does; how many, or None if it was refused."""
        rt = runtime.current()
        try:
            canceled = await end(rt.store, user_id=self.user.id, now=utcnow())
        except DomainError as exc:  # closed meanwhile, in another tab
            self._say(exc.message, "negative")
            return None
        await accounts.announce_canceled(rt.bus, self.user.id, canceled)
        return len(canceled)

    async def reset(self, account: AccountPublic) -> None:
        async def reset(store, **who):
            return (await accounts.reset(store, account_id=account.id, **who))[1]

        canceled = await self._ending(reset)
        if canceled is not None:
            self._say(
                f"{account.name} was reset: cash back to {money(account.starting_cash)}{_canceled_text(canceled)}"
            )
        await self.refresh()

    async def close(self, account: AccountPublic) -> None:
        rt = runtime.current()
        close = functools.partial(accounts.close, cache=rt.cache, bus=rt.bus, account_id=account.id)
        canceled = await self._ending(close)
        if canceled is not None:
            self._say(f"Closed {account.name}{_canceled_text(canceled)}")
        await self.refresh()

    # -- dialogs: each closes itself once its action is done, and says what happened from the card ----------------

    def _ask_name(self, account: AccountPublic) -> None:
        dialog, card = dialogs.dialog(self.card, f"Rename {account.name}", "rename-dialog")

        async def save() -> None:
            try:
                name = AccountChange(name=field.value or "").name
            except ValidationError as exc:
                field.error = _name_problem(exc)
                return
            save_button.props("loading")
            if await self._change(account, name=name, make_default=False):
                self._say(f"Renamed {account.name} to {name}")
                await self.refresh()
            dialog.close()

        with card:
            field = ui.input("Name", value=account.name).props("outlined dense autofocus maxlength=50")
            field.props('data-testid="rename-name"').classes("w-full")
            field.on("keydown.enter", save)
            save_button = dialogs.buttons(dialog, "Save", save)
        dialog.open()

    def _confirm_reset(self, account: AccountPublic) -> None:
        text = (
            f"Its open orders are canceled, its positions cleared and its cash set back to "
            f"{money(account.starting_cash)}, its starting cash. Its order history is kept."
        )
        dialogs.confirm(
            self.card, f"Reset {account.name}?", "reset-dialog", text, "Reset account", lambda: self.reset(account)
        )

    def _confirm_close(self, account: AccountPublic) -> None:
        text = (
            "Its open orders are canceled and it leaves your accounts, with its cash and positions; "
            "it cannot be opened again. Its history is kept."
        )
        dialogs.confirm(
            self.card, f"Close {account.name}?", "close-dialog", text, "Close account", lambda: self.close(account)
        )
