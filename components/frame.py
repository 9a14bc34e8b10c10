"""The page frame every signed-in page shares: header with navigation and logout."""

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from components import theme
from models.user import UserPublic

NAV = (("Portfolio", "/"),)


@contextmanager
def frame(title: str, user: UserPublic) -> Iterator[ui.column]:
    ui.page_title(f"{title} · Sherwood")
    theme.apply()
    with ui.header().classes("bg-white text-black border-b items-center px-6 py-2"):
        with ui.link(target="/").classes("no-underline text-black"):
            theme.brand("text-xl")
        with ui.row().classes("gap-4 ml-8"):
            for label, target in NAV:
                ui.link(label, target).classes("no-underline text-gray-700 font-medium")
        ui.space()
        ui.label(user.display_name).classes("text-gray-600").props('data-testid="user-name"')
        ui.button("Log out", on_click=lambda: ui.navigate.to("/logout")).props("flat no-caps color=grey-8")
    with ui.column().classes("w-full max-w-5xl mx-auto p-6 gap-6") as content:
        yield content
