"""Price alerts: create and delete them; a fired alert shows up as a notification on any page."""

from fastapi import Request
from nicegui import ui

from components.alerts_panel import AlertForm, AlertsList
from components.frame import frame


async def alerts_page(request: Request):
    user = request.state.user
    with frame("Alerts", request), ui.row().classes("w-full gap-6 items-start flex-wrap md:flex-nowrap"):
        with ui.column().classes("flex-1 min-w-0 gap-4 w-full"):
            ui.label("Price alerts").classes("text-3xl font-semibold")
            listing = AlertsList(user)
        with ui.column().classes("w-full md:w-80"):
            AlertForm(user, listing)
    await listing.refresh()
