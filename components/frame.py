"""The page frame every signed-in page shares: header with search, navigation, market status, account switcher,
theme and logout."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from nicegui import app, ui

from components import live, theme, user_events
from components.account_switcher import AccountSwitcher
from components.session_keeper import SessionKeeper
from components.symbol_picker import SymbolPicker
from components.user_events import BrowserListener
from models.user import UserPublic
from services import runtime
from services.identity import auth
from services.infra.errors import INTERNAL_MESSAGE, UNAVAILABLE, UNAVAILABLE_MESSAGE
from services.runtime import call

# The pages in the header: named on a wide screen, an icon each on a phone (whose header keeps to two lines).
NAV = (
    ("Portfolio", "/", "home"),
    ("Discover", "/discover", "explore"),
    ("Orders", "/orders", "receipt_long"),
    ("Alerts", "/alerts", "notifications"),
    ("Leagues", "/leagues", "emoji_events"),
)


def _search() -> None:
    search = SymbolPicker("Search stocks", lambda symbol: ui.navigate.to(f"/stock/{symbol}"))
    search.props('clearable data-testid="search"').classes("w-40 sm:w-72")


def _market_status() -> None:
    with ui.row().classes("items-center gap-1 text-sm text-gray-500 no-wrap").props('data-testid="market-status"'):
        with ui.row().classes("sw-market-state items-center gap-1 no-wrap"):
            for state, icon, colour in (
                ("open", "circle", "text-green-500"),
                ("closed", "circle", "text-gray-400"),
                ("stale", "schedule", "text-orange-500"),
            ):
                ui.icon(icon).classes(f"text-[10px] {colour}").bind_visibility_from(
                    live.status, "state", backward=lambda current, state=state: current == state
                )
            ui.label().classes("gt-xs").bind_text_from(live.status, "label")  # a phone shows the dot
            ui.tooltip().bind_text_from(live.status, "label")
        # Shown instead by the browser while its socket is down (theme.CSS): the server cannot tell this page.
        with ui.row().classes("sw-reconnecting items-center gap-1 no-wrap"):
            ui.icon("sync").classes("text-[10px] text-orange-500")
            ui.label("Reconnecting…").classes("gt-xs")
            ui.tooltip("Connection lost: reconnecting")


def _mark_stale_numbers() -> None:
    """Grey out live numbers on this page while the feed is silent (and back at once when it speaks)."""
    body, shown = ui.query("body"), {"stale": False}

    def update() -> None:
        stale = live.status.state == "stale"
        if stale != shown["stale"]:
            shown["stale"] = stale
            body.classes(**{"add" if stale else "remove": "sw-stale"})

    update()
    live.ticked.subscribe(update)


def _theme_toggle() -> None:
    dark = ui.dark_mode(app.storage.user.get("dark", False))

    def toggle() -> None:
        dark.value = not dark.value
        app.storage.user["dark"] = dark.value

    ui.button(icon="dark_mode", on_click=toggle).props('flat round dense color=grey-7 data-testid="theme"').tooltip(
        "Light or dark theme"
    )


async def log_out(events: BrowserListener) -> None:
    """End this browser's session on every instance, then ask for a login (one page load: this page does not
    hear its own session end, which would load the page again)."""
    events.stop()
    token = app.storage.user.pop("token", None)
    if token:
        current = runtime.current()
        await call(auth.logout, current.cache, current.bus, token)
    ui.navigate.to("/login")


async def log_out_everywhere(user: UserPublic, events: BrowserListener) -> None:
    """End every session of the user on every instance (this browser's too), then ask for a login."""
    events.stop()
    current = runtime.current()
    app.storage.user.pop("token", None)
    await call(auth.logout_everywhere, current.cache, current.bus, user_id=user.id)
    ui.navigate.to("/login")


def _account_menu(user: UserPublic, events: BrowserListener) -> None:
    button = ui.button(icon="account_circle").props('flat round dense color=grey-7 data-testid="account-menu"')
    with button, ui.menu():
        ui.menu_item("Account and security", lambda: ui.navigate.to("/account"))
        ui.menu_item("Log out everywhere", lambda: log_out_everywhere(user, events))


def _say_what_failed(exc: Exception) -> None:
    """An action that fails past its own error handling still tells the user, rather than doing nothing."""
    if isinstance(exc, UNAVAILABLE):
        ui.notify(UNAVAILABLE_MESSAGE, type="warning")
    else:
        ui.notify(INTERNAL_MESSAGE, type="negative")


@dataclass
class Frame:
    events: BrowserListener  # the user's alerts and the order updates of the page's account
    switcher: AccountSwitcher


@contextmanager
def frame(title: str, request: Request) -> Iterator[Frame]:
    """Lay out a signed-in page for the user and account that pages.session.RequireLogin found."""
    user = request.state.user
    ui.page_title(f"{title} · Sherwood")
    theme.apply()
    ui.on_exception(_say_what_failed)
    events = user_events.follow(user, app.storage.user["token"], request.state.account_id)
    SessionKeeper(events, request.url.path)
    with ui.header().classes("sw-header items-center px-4 sm:px-6 py-2 gap-3 flex-wrap"):
        with ui.link(target="/").classes("no-underline").style("color: inherit"):
            theme.brand("text-xl", name_on_phone=False)  # a phone's first line holds the logo, pages and account
        with ui.row().classes("gap-4 ml-2 sm:ml-6 items-center"):
            for label, target, icon in NAV:
                link = ui.link(target=target).classes("sw-nav no-underline font-medium flex items-center")
                with link.props(f'aria-label="{label}"'):
                    ui.icon(icon).classes("xs text-2xl")
                    ui.label(label).classes("gt-xs")
        switcher = AccountSwitcher(user, request.state.account)  # beside the pages: the account they show
        ui.space()
        _search()
        _market_status()
        _theme_toggle()
        # Named in words from 1440 px up: below, the header would wrap onto a second line (icons say it there).
        ui.label(user.display_name).classes("text-gray-500 gt-md").props('data-testid="user-name"')
        _account_menu(user, events)
        log_out_button = ui.button(icon="logout", on_click=lambda: log_out(events))
        log_out_button.props('flat dense no-caps color=grey-8 aria-label="Log out" data-testid="logout"')
        with log_out_button:
            ui.label("Log out").classes("gt-md ml-1")
            ui.tooltip("Log out")
    _mark_stale_numbers()
    with ui.column().classes("w-full max-w-6xl mx-auto p-4 sm:p-6 gap-6"):
        yield Frame(events, switcher)
