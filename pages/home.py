"""The portfolio: equity and its chart, balances, positions, open orders and recent fills."""

from decimal import Decimal

from fastapi import Request
from nicegui import background_tasks, ui

from components import live
from components.charts import Points, RangeChart
from components.frame import frame
from components.orders_table import OrdersTable
from components.positions import LivePortfolio
from components.watchlist_panel import WatchlistPanel
from models.types import utcnow
from services import runtime
from services.runtime import call
from services.trading import portfolio

POPULAR = ("AAPL", "NVDA", "TSLA", "MSFT", "SPY", "AMZN")


def _first_trade_invitation() -> None:
    """What a new account sees instead of empty tables: a way to its first trade."""
    with ui.card().classes("sw-card w-full p-6 gap-3").props('data-testid="empty-state"'):
        ui.label("Make your first trade").classes("text-xl font-semibold")
        ui.label("Pick a stock to see its chart and buy it with your paper money.").classes("text-gray-500")
        with ui.row().classes("gap-2"):
            for symbol in POPULAR:
                quote = live.view(symbol)
                link = ui.link(target=f"/stock/{symbol}").classes("no-underline").style("color: inherit")
                with link, ui.card().classes("sw-card px-4 py-2 gap-0 cursor-pointer"):
                    ui.label(symbol).classes("font-semibold")
                    ui.label().classes("sw-num text-sm").bind_text_from(quote, "last")


async def home_page(request: Request):
    user, account_id = request.state.user, request.state.account_id
    layout = "w-full gap-6 items-start flex-wrap md:flex-nowrap"
    with frame("Portfolio", request) as framed, ui.row().classes(layout):
        main = ui.column().classes("flex-1 min-w-0 gap-6 w-full")
        with ui.column().classes("w-full md:w-72"):
            watched = WatchlistPanel(user)
    with main:
        ui.label(f"Welcome, {user.display_name}").classes("text-lg text-gray-500").props('data-testid="welcome"')
        live_book = LivePortfolio(user, account_id)

        async def equity_points(range_name: str) -> Points:
            current = portfolio.appraise(live_book.book, runtime.current().hub.latest).equity if live_book.book else 0
            points = await call(portfolio.history, account_id, range_name, now=utcnow(), current=Decimal(current))
            return [(p.t.isoformat(), p.equity) for p in points]

        chart = RangeChart(equity_points, testid="equity-chart")
        live_book.cards()
        invitation = ui.column().classes("w-full")  # filled only for an account with nothing yet: its prices cost
        ui.label("Positions").classes("text-xl font-semibold")
        live_book.table()
        ui.label("Open orders").classes("text-xl font-semibold")
        open_orders = OrdersTable(user, account_id, status="pending", empty="No open orders.", testid="open-orders")
        ui.label("Recent fills").classes("text-xl font-semibold")
        fills = OrdersTable(
            user, account_id, limit=5, empty="Nothing filled yet.", testid="recent-fills", time="filled"
        )

    async def reload() -> None:
        await live_book.reload()
        await open_orders.refresh()
        await fills.refresh()
        new_account = not (live_book.book.positions or open_orders.table.rows or fills.table.rows)
        if new_account and not invitation.default_slot.children:
            with invitation:
                _first_trade_invitation()
        invitation.visible = new_account
        await chart.show()  # after a fill too: the chart ends where the headline stands

    framed.events.on_order.append(lambda _order: background_tasks.create(reload()))
    await reload()
    await watched.load()
