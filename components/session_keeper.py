"""An open page keeps its session alive: it renews the token shortly before it ends (as `POST /api/auth/refresh`
does, in two steps), and says plainly when it can be renewed no more, 30 days after the login that began it."""

from datetime import timedelta
from urllib.parse import quote

from nicegui import app, ui

from components.user_events import BrowserListener
from models.types import utcnow
from services import runtime
from services.identity import auth
from services.infra.errors import DomainError
from services.runtime import call

RENEW_BEFORE = timedelta(minutes=5)  # renew this long before the token ends: time for a slow or busy server
ENDED_NOTICE = "Your session ended: sessions last 30 days from logging in. Please log in again."


class SessionKeeper:
    """Renews this browser's token for the page, and at the end of its chain warns, then sends it to log in."""

    def __init__(self, listener: BrowserListener, path: str):
        self._listener, self._path = listener, path
        self._storage = app.storage.user  # this browser's (the timers run outside the page request)
        self._slot, self._planned = ui.context.slot, False
        # Planned once the page is connected: a timer made now would send the page before it is built.
        ui.context.client.on_connect(self._connected)

    async def _connected(self) -> None:
        if not self._planned:
            self._planned = True
            with self._slot:
                await self._plan()

    @staticmethod
    def _wait(seconds: float, then) -> None:
        ui.timer(max(seconds, 0), then, once=True)  # removes itself once it has run

    async def _plan(self) -> None:
        """Look at the token this browser holds now (another of its pages may have renewed it) and wait for its
        renewal, or for the end of the chain."""
        token = self._storage.get("token")
        times = await call(auth.session_times, token) if token else None
        if times is None:  # ended elsewhere: the login guard says what to do
            ui.navigate.reload()
            return
        self._listener.listen(token)
        until_renewal = (times.expires_at - RENEW_BEFORE - utcnow()).total_seconds()
        self._wait(until_renewal, self._warn_of_end if times.final else self._renew)

    async def _renew(self) -> None:
        token = self._storage.get("token")
        rt = runtime.current()
        try:
            result = await call(auth.renew, rt.cache, token)
        except DomainError:  # ended meanwhile: look again
            await self._plan()
            return
        if self._storage.get("token") == token:
            # The browser holds the new token before the old one ends: its other pages, reloaded by that end,
            # come back signed in.
            self._storage["token"] = result.token
            self._listener.listen(result.token)
        else:  # another page of this browser renewed it first: keep to its token
            token = result.token
        await call(auth.logout, rt.cache, rt.bus, token)
        await self._plan()

    async def _warn_of_end(self) -> None:
        times = await call(auth.session_times, self._storage.get("token") or "")
        if times is None:
            ui.navigate.reload()
            return
        ends = times.expires_at.strftime("%H:%M UTC")
        ui.notify(
            f"Your session ends at {ends}: sessions last 30 days from logging in. Log in again then to keep going.",
            type="warning",
            timeout=0,
            close_button=True,
            position="top",
        )
        self._wait((times.expires_at - utcnow()).total_seconds(), self._end)

    async def _end(self) -> None:
        self._listener.stop()  # ending the token here needs no reload
        token = self._storage.pop("token", None)
        if token:
            rt = runtime.current()
            await call(auth.logout, rt.cache, rt.bus, token)
        ui.navigate.to(f"/login?ended=1&redirect_to={quote(self._path)}")
