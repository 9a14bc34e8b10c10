"""All of the user's orders, filtered by status, with cancel for the open ones."""

from fastapi import Request
from nicegui import background_tasks, ui

from components.frame import frame
from components.orders_table import OrdersTable

FILTERS = {
    None: "All",
    "pending": "Open",
    "filled": "Filled",
    "canceled": "Canceled",
    "expired": "Expired",
    "rejected": "Rejected",
}


async def orders_page(request: Request):
    user, account_id = request.state.user, request.state.account_id
    with frame("Orders", request) as framed:
        ui.label("Orders").classes("text-3xl font-semibold")
        choice = ui.toggle({key or "all": label for key, label in FILTERS.items()}, value="all")
        choice.props('no-caps dense data-testid="status-filter"')
        table = OrdersTable(user, account_id, limit=200, testid="all-orders")

    async def show(_event=None) -> None:
        table.status = None if choice.value == "all" else choice.value
        await table.refresh()

    choice.on_value_change(show)
    framed.events.on_order.append(lambda _order: background_tasks.create(table.refresh()))
    await show()
