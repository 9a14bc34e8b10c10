"""Account and security: the user's paper accounts and API keys, the password, the sessions signed in."""

import contextlib

from fastapi import Request
from nicegui import app, ui

from components.accounts_card import AccountsCard
from components.api_keys_card import ApiKeysCard
from components.frame import frame, log_out_everywhere
from components.user_events import BrowserListener
from models.account import AccountPublic
from models.user import UserPublic
from services import runtime
from services.identity import auth
from services.infra.errors import DomainError
from services.runtime import call


class PasswordForm:
    """Current password again, then the new one twice; on success every other session of the user ends."""

    def __init__(self, user: UserPublic, on_changed):
        self._user, self._on_changed = user, on_changed
        with ui.card().classes("sw-card w-full max-w-md p-6 gap-3"):
            ui.label("Change password").classes("text-lg font-semibold")
            self.current = self._field("Current password", "current-password", "current-password")
            self.new = self._field("New password (8 characters or more)", "new-password", "new-password")
            self.repeat = self._field("New password again", "repeat-password", "new-password")
            self.message = ui.label().classes("text-sm").props('data-testid="password-message"')
            self.button = ui.button("Change password", on_click=self.submit)
            self.button.props('unelevated no-caps data-testid="change-password"').classes("rounded-full")

    @staticmethod
    def _field(label: str, testid: str, autocomplete: str) -> ui.input:
        props = f'outlined autocomplete={autocomplete} data-testid="{testid}"'
        return ui.input(label, password=True).props(props).classes("w-full")

    def _say(self, text: str, *, ok: bool) -> None:
        self.message.text = text
        self.message.classes(replace="text-sm " + ("text-positive" if ok else "text-negative"))

    async def submit(self) -> None:
        current, new = self.current.value or "", self.new.value or ""
        if len(new) < 8:
            self._say("Choose a new password of at least 8 characters.", ok=False)
            return
        if new != self.repeat.value:
            self._say("The new passwords do not match.", ok=False)
            return
        rt = runtime.current()
        self.button.props("loading")
        try:
            await call(
                auth.change_password,
                rt.cache,
                rt.bus,
                user_id=self._user.id,
                token=app.storage.user["token"],
                current_password=current,
                new_password=new,
            )
        except DomainError as exc:
            self._say(exc.message, ok=False)
            return
        finally:
            self.button.props(remove="loading")
        for field in (self.current, self.new, self.repeat):
            field.value = ""
        self._say("Password changed. Every other session was logged out.", ok=True)
        await self._on_changed()


class SessionsList:
    """The user's live sessions, newest first, each with a button that ends it."""

    def __init__(self, user: UserPublic, events: BrowserListener):
        self._user = user
        with ui.card().classes("sw-card w-full max-w-md p-6 gap-3"):
            ui.label("Signed-in sessions").classes("text-lg font-semibold")
            self._rows = ui.column().classes("w-full gap-2").props('data-testid="sessions"')
            ui.button("Log out everywhere", on_click=lambda: log_out_everywhere(user, events)).props(
                'outline no-caps color=negative data-testid="logout-all"'
            ).classes("rounded-full")

    async def refresh(self) -> None:
        token = app.storage.user.get("token", "")
        sessions = await call(auth.list_sessions, user_id=self._user.id, token=token)
        self._rows.clear()
        with self._rows:
            for session in sessions:
                with ui.row().classes("w-full items-center justify-between no-wrap").props('data-testid="session"'):
                    with ui.column().classes("gap-0"):
                        where = session.browser + (f" · {session.address}" if session.address else "")
                        ui.label(where + (" · this browser" if session.current else "")).classes("font-medium")
                        started = session.created_at.strftime("%Y-%m-%d %H:%M UTC")
                        ui.label(f"Active since {started}").classes("text-sm text-gray-500")
                    if not session.current:
                        ui.button(icon="logout", on_click=lambda s=session.id: self.revoke(s)).props(
                            "flat round dense color=grey-7"
                        ).tooltip("End this session")

    async def revoke(self, session: str) -> None:
        rt = runtime.current()
        with contextlib.suppress(DomainError):  # already ended elsewhere: the refresh below shows it gone
            await call(auth.revoke_session, rt.cache, rt.bus, user_id=self._user.id, session=session)
        await self.refresh()


async def account_page(request: Request):
    user = request.state.user
    with frame("Account", request) as framed:
        ui.label("Account and security").classes("text-3xl font-semibold")
        ui.label(user.email).classes("text-gray-500")

        def listed(accounts: list[AccountPublic]) -> None:
            # The header and the keys follow what is done here: a renamed account's new name, a close.
            framed.switcher.show(accounts)
            keys.show_accounts(accounts)

        listing = AccountsCard(user, on_listed=listed)
        keys = ApiKeysCard(user)
        with ui.row().classes("w-full gap-6 items-start flex-wrap"):
            sessions = SessionsList(user, framed.events)
            PasswordForm(user, sessions.refresh)
    await listing.refresh()  # first: a key names its account
    await keys.refresh()
    await sessions.refresh()
