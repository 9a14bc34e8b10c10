"""One stock: its live quote and chart, the user's position, the order panel and the user's orders in it."""

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui

from components import live
from components.alerts_panel import AlertForm, AlertsList
from components.charts import Candles, Points, RangeChart
from components.frame import frame
from components.key_stats_card import KeyStatsCard
from components.numbers import direction, money, percent, shares, signed_money
from components.order_form import OrderForm
from components.orders_table import OrdersTable
from components.positions import BookView
from models.types import utcnow
from services import runtime
from services.market import history as market_history
from services.market import symbols
from services.runtime import call
from services.trading import portfolio
from services.watchlists import watchlist

RANGE_WORDS = {
    "1D": "Today",
    "1W": "Past week",
    "1M": "Past month",
    "3M": "Past 3 months",
    "1Y": "Past year",
    "ALL": "All time",
}


class RangeChange:
    """The change over the range the chart shows: from the day's previous close for 1D, else from where the
    chart's line starts; live at each tick of the symbol."""

    def __init__(self, symbol: str):
        self.symbol, self.range, self.base = symbol, "1D", None
        self.label = ui.label().classes("sw-num sw-sign").props('data-testid="price-change"')
        live.ticked.subscribe(self._tick)  # from the page: unsubscribed when the browser goes

    def shown(self, range_name: str, points: Points) -> None:
        self.range, self.base = range_name, (points[0][1] if points else None)
        self.show()

    def _tick(self, changed: set[str] | None = None) -> None:
        if changed is None or self.symbol in changed:
            self.show()

    def show(self) -> None:
        quote = runtime.current().hub.latest.get(self.symbol)
        if quote is None or (self.range != "1D" and not self.base):
            self.label.text = ""
            return
        if self.range == "1D":
            change, change_percent = quote.change, quote.change_percent
        else:
            change = quote.last - self.base
            change_percent = change / self.base * 100
        self.label.text = f"{signed_money(change)} ({percent(change_percent)}) {RANGE_WORDS[self.range]}"


def _quote_header(symbol: str, name: str) -> RangeChange:
    quote = live.view(symbol)
    with ui.column().classes("gap-0"):
        ui.label(name).classes("text-gray-500").props('data-testid="stock-name"')
        ui.label(symbol).classes("text-3xl font-semibold")
        ui.label().classes("text-4xl font-semibold sw-num").props('data-testid="last-price"').bind_text_from(
            quote, "last", backward=lambda last: f"${last}"
        )
        change = RangeChange(symbol)
        with ui.row().classes("gap-4 text-sm text-gray-500 sw-num"):
            ui.label().bind_text_from(quote, "bid", backward=lambda bid: f"Bid {bid}").props('data-testid="bid"')
            ui.label().bind_text_from(quote, "ask", backward=lambda ask: f"Ask {ask}").props('data-testid="ask"')
    return change


class PositionCard(BookView):
    """The user's shares of this stock, valued at the live price."""

    def __init__(self, user, account_id, symbol: str):
        super().__init__(user, account_id)
        self.symbol = symbol
        with ui.card().classes("sw-card w-full p-5 gap-1").props('data-testid="position"') as self.card:
            ui.label("Your position").classes("text-gray-500 text-sm")
            self.summary = ui.label().classes("text-xl font-semibold sw-num").props('data-testid="position-summary"')
            self.detail = ui.label().classes("sw-num")

    def show(self, state: portfolio.Portfolio) -> None:
        mine = next((p for p in state.positions if p.symbol == self.symbol), None)
        self.card.visible = mine is not None
        if mine is not None:
            self.summary.text = f"{shares(mine.quantity)} · {money(mine.market_value)}"
            self.detail.text = (
                f"Avg cost {money(mine.avg_cost)} · Total return {signed_money(mine.unrealized_pnl)} "
                f"({percent(mine.unrealized_pnl_percent)})"
            )
            self.detail.classes(replace=f"sw-num {direction(mine.unrealized_pnl)}")


class WatchToggle:
    """Follow or unfollow this stock in the watchlist."""

    def __init__(self, user, symbol: str):
        self.user, self.symbol, self.watching = user, symbol, False
        self.button = ui.button(on_click=self.toggle).props('outline no-caps data-testid="watch-toggle"')
        self.button.classes("w-full rounded-full")

    async def load(self) -> None:
        self._show(self.symbol in await call(watchlist.symbols, self.user.id))

    def _show(self, watching: bool) -> None:
        self.watching = watching
        self.button.text = "Remove from watchlist" if watching else "Add to watchlist"
        self.button.props(f"icon={'visibility_off' if watching else 'visibility'}")

    async def toggle(self) -> None:
        change = watchlist.remove if self.watching else watchlist.add
        self._show(self.symbol in await call(change, self.user.id, self.symbol))


async def stock_page(request: Request, symbol: str):
    listing = symbols.get(symbol)
    if listing is None:
        return RedirectResponse("/")
    if listing.symbol != symbol:
        return RedirectResponse(f"/stock/{listing.symbol}")
    user, account_id = request.state.user, request.state.account_id
    with (
        frame(listing.symbol, request) as framed,
        ui.row().classes("w-full gap-6 items-start flex-wrap md:flex-nowrap"),
    ):
        with ui.column().classes("flex-1 min-w-0 gap-4 w-full"):
            change = _quote_header(listing.symbol, listing.name)

            async def price_candles(range_name: str) -> Candles:
                found = await call(
                    market_history.history, listing.symbol, range_name, clock=runtime.current().clock, now=utcnow()
                )
                return [(c.t.isoformat(), c.open, c.close, c.low, c.high) for c in found]

            async def price_points(range_name: str) -> Points:
                return [(t, close) for t, _, close, _, _ in await price_candles(range_name)]

            chart = RangeChart(price_points, candles=price_candles, testid="price-chart", on_shown=change.shown)
            position = PositionCard(user, account_id, listing.symbol)
            stats = KeyStatsCard(listing)
            ui.label(f"Your {listing.symbol} orders").classes("text-xl font-semibold")
            history = OrdersTable(user, account_id, symbol=listing.symbol, limit=20, testid="symbol-orders")
        with ui.column().classes("w-full md:w-80 gap-4"):

            async def placed() -> None:
                await position.reload()
                await history.refresh()

            form = OrderForm(listing.symbol, user, account_id, placed)
            watch = WatchToggle(user, listing.symbol)
            alert_list = AlertsList(user, symbol=listing.symbol)
            AlertForm(user, alert_list, symbol=listing.symbol)

    async def on_order() -> None:
        await placed()
        await form.load_account()

    framed.events.on_order.append(lambda _order: background_tasks.create(on_order()))
    await form.load_account()
    await placed()
    await watch.load()
    await alert_list.refresh()
    await chart.show()
    await stats.load()
