"""The signed-in home page: the account at a glance (the portfolio view grows here)."""

from fastapi import Request
from nicegui import ui

from components.frame import frame
from pages.session import call
from services import accounts


@ui.page("/")
async def home_page(request: Request):
    user = request.state.user
    with frame("Portfolio", user):
        ui.label(f"Welcome, {user.display_name}").classes("text-3xl font-semibold").props('data-testid="welcome"')
        balances = await call(accounts.balances, user.id)
        with ui.row().classes("gap-6 w-full"):
            for label, amount, testid in (
                ("Cash", balances.cash, "cash"),
                ("Buying power", balances.buying_power, "buying-power"),
            ):
                with ui.card().classes("sw-card p-6 min-w-60"):
                    ui.label(label).classes("text-gray-500 text-sm")
                    ui.label(f"${amount:,.2f}").classes("text-2xl font-semibold").props(f'data-testid="{testid}"')
