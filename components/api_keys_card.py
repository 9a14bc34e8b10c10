"""The account page's API keys: list the user's keys, create one for an account (its secret shown once), delete one."""

import uuid
from datetime import datetime

from nicegui import ui
from pydantic import ValidationError
from sqlmodel import Session

from components import dialogs
from models.account import AccountPublic
from models.api_key import ApiKeyCreate, ApiKeyPublic
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import DomainError
from services.runtime import call
from services.trading import accounts, api_keys

HEADERS = ("APCA-API-KEY-ID", "APCA-API-SECRET-KEY")
NAME_PROBLEMS = {"string_too_short": "Give the key a name.", "string_too_long": "Use 50 characters or fewer."}


def _create(db: Session, *, user_id: uuid.UUID, account_id: uuid.UUID, name: str) -> tuple[ApiKeyPublic, str]:
    # The account's row stays locked until the key is in, so the account cannot close meanwhile (as /api/keys does).
    account = accounts.owned(db, user_id=user_id, account_id=account_id, lock=True)
    return api_keys.create(db, user_id=user_id, account_id=account.id, name=name, now=utcnow())


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "Never"


class ApiKeysCard:
    def __init__(self, user: UserPublic):
        self.user = user
        self.keys: list[ApiKeyPublic] = []
        self.accounts: list[AccountPublic] = []
        with ui.card().classes("sw-card w-full max-w-2xl p-6 gap-3").props('data-testid="api-keys-card"') as self.card:
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.label("API keys").classes("text-lg font-semibold")
                create = ui.button("Create key", icon="add", on_click=self._ask_new)
                create.props('unelevated no-caps data-testid="create-key"').classes("rounded-full")
            ui.label("Each key lets a bot trade one of your accounts. A bot sends it in two headers:").classes(
                "text-sm text-gray-500"
            )
            with ui.row().classes("gap-x-4 gap-y-0 -mt-2").props('data-testid="api-keys-headers"'):
                for header in HEADERS:  # each whole: a phone would break them at a hyphen
                    ui.label(header).classes("font-mono text-xs text-gray-500 whitespace-nowrap")
            self.rows = ui.column().classes("w-full gap-0").props('data-testid="api-keys"')

    def show_accounts(self, listed: list[AccountPublic]) -> None:
        """Follow the accounts card: a renamed account's new name; a closed account's keys died with it."""
        self.accounts = listed
        self.keys = [key for key in self.keys if key.account_id in {account.id for account in listed}]
        self._render()

    async def refresh(self) -> None:
        self.keys = await call(api_keys.list_keys, self.user.id)
        self._render()

    def _render(self) -> None:
        names = {account.id: account.name for account in self.accounts}
        self.rows.clear()
        with self.rows:
            if not self.keys:
                ui.label("No API keys yet. Create one to let a bot trade an account.").classes(
                    "text-gray-500 py-3"
                ).props('data-testid="api-keys-empty"')
            for index, key in enumerate(self.keys):
                if index:
                    ui.separator()
                self._row(key, names.get(key.account_id, ""))

    def _row(self, key: ApiKeyPublic, account_name: str) -> None:
        with ui.row().classes("w-full items-center gap-2 py-3 no-wrap").props(f'data-testid="key-{key.key_id}"'):
            with ui.column().classes("flex-1 min-w-0 gap-1"):
                with ui.row().classes("items-center gap-2 min-w-0"):
                    ui.label(key.name).classes("font-medium break-words min-w-0").props('data-testid="key-name"')
                    ui.badge(account_name).props('outline color=grey-7 data-testid="key-account"')
                ui.label(key.key_id).classes("font-mono text-sm break-all").props('data-testid="key-id"')
                with ui.row().classes("gap-x-4 gap-y-0 text-xs text-gray-500"):
                    ui.label(f"Created {_when(key.created_at)}").props('data-testid="key-created"')
                    ui.label(f"Last used {_when(key.last_used_at)}").props('data-testid="key-last-used"')
            remove = ui.button(icon="delete_outline", on_click=lambda: self._confirm_delete(key))
            remove.props('flat round dense color=grey-7 aria-label="Delete key" data-testid="delete-key"')

    def _say(self, text: str, kind: str = "positive") -> None:
        with self.card:  # not from a dialog's button: the dialog is gone by now
            ui.notify(text, type=kind)

    # -- create: a name and an account, then the secret, once ---------------------------------------------------

    def _ask_new(self) -> None:
        dialog, card = dialogs.dialog(self.card, "Create an API key", "create-key-dialog")
        default = next(account for account in self.accounts if account.is_default)

        async def create() -> None:
            name_field.error = account_field.error = None
            try:
                name = ApiKeyCreate(name=name_field.value or "").name
            except ValidationError as exc:
                name_field.error = NAME_PROBLEMS.get(
                    exc.errors()[0]["type"], "Use letters, digits and punctuation only."
                )
                return
            create_button.props("loading")
            try:
                key, secret = await call(_create, user_id=self.user.id, account_id=account_field.value, name=name)
            except DomainError as exc:
                # KEY_LIMIT says to delete one; ACCOUNT_NOT_FOUND is an account closed meanwhile, in another tab.
                (account_field if exc.code == "ACCOUNT_NOT_FOUND" else name_field).error = exc.message
                return
            finally:
                create_button.props(remove="loading")
            dialog.close()
            await self.refresh()  # the list behind the secret already holds the new key
            self._show_secret(key, secret)

        with card:
            ui.label("Name it for the bot that will use it.").classes("text-gray-600")
            name_field = ui.input("Name").props('outlined dense autofocus maxlength=50 data-testid="key-name-input"')
            name_field.classes("w-full").on("keydown.enter", create)
            options = {account.id: account.name for account in self.accounts}
            account_field = ui.select(options, value=default.id, label="Account it trades").classes("w-full")
            account_field.props('outlined dense data-testid="key-account-select"')
            create_button = dialogs.buttons(dialog, "Create key", create)
        dialog.open()

    def _show_secret(self, key: ApiKeyPublic, secret: str) -> None:
        dialog, card = dialogs.dialog(self.card, f"{key.name} is ready", "key-secret-dialog")
        dialog.props("persistent")  # a stray click beside it must not lose the secret

        with card:
            ui.label(
                "Copy the secret now: it will not be shown again. If you lose it, delete the key and create another."
            )
            self._copyable("Key id (APCA-API-KEY-ID)", key.key_id, "secret-key-id")
            self._copyable("Secret (APCA-API-SECRET-KEY)", secret, "secret-secret")
            with ui.row().classes("w-full justify-end mt-2"):
                done = ui.button("Done", on_click=dialog.close)
                done.props('unelevated no-caps data-testid="secret-done"').classes("rounded-full")
        dialog.open()

    @staticmethod
    def _copyable(title: str, text: str, testid: str) -> None:
        def copy() -> None:
            ui.clipboard.write(text)
            ui.notify("Copied", type="positive")  # the dialog is open: its card is alive

        ui.label(title).classes("text-xs text-gray-500 -mb-2")
        with ui.row().classes("w-full items-center gap-1 no-wrap"):
            ui.label(text).classes("flex-1 min-w-0 font-mono text-sm break-all").props(f'data-testid="{testid}"')
            ui.button(icon="content_copy", on_click=copy).props(
                f'flat round dense color=grey-7 aria-label="Copy" data-testid="copy-{testid}"'
            )

    # -- delete ---------------------------------------------------------------------------------------------------

    def _confirm_delete(self, key: ApiKeyPublic) -> None:
        text = "Bots using this key stop working at once. This cannot be undone."
        dialogs.confirm(
            self.card, f"Delete {key.name}?", "delete-key-dialog", text, "Delete key", lambda: self.delete(key)
        )

    async def delete(self, key: ApiKeyPublic) -> None:
        rt = runtime.current()
        try:
            await call(api_keys.delete, rt.cache, rt.bus, user_id=self.user.id, key=key.id, now=utcnow())
        except DomainError:  # deleted meanwhile, in another tab, or its account closed
            self._say(f"{key.name} was already deleted", "info")
        else:
            self._say(f"Deleted {key.name}")
        await self.refresh()
