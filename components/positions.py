"""Portfolio numbers that move with the market: the headline, the balance cards and the positions table.

The book (cash and positions) is read from the database when it changes (an order update); between
changes it is appraised again at each tick of the live state, in memory, and only changed text is sent.
Each position shows the day's mini chart of its symbol (components.sparklines), redrawn a few times a minute.
"""

import uuid

from nicegui import ui

from components import live, sparklines
from components.headline import Headline
from components.numbers import decimal_text, direction, money, percent, signed_money
from components.tables import stacked
from models.user import UserPublic
from services import runtime
from services.runtime import call
from services.trading import portfolio

COLUMNS = [
    {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
    {"name": "spark", "label": "Today's chart", "field": "spark", "align": "center"},
    {"name": "quantity", "label": "Shares", "field": "quantity", "align": "right"},
    {"name": "price", "label": "Price", "field": "price", "align": "right"},
    {"name": "day", "label": "Today", "field": "day", "align": "right"},
    {"name": "value", "label": "Market value", "field": "value", "align": "right"},
    {"name": "share", "label": "% of portfolio", "field": "share", "align": "right"},
    {"name": "avg", "label": "Avg cost", "field": "avg", "align": "right"},
    {"name": "pnl", "label": "Total return", "field": "pnl", "align": "right"},
]

# The day's mini chart; a breathing dashed line while its first path is built, a still one with too few prices.
SPARK_CELL = """<q-td :props="props" :data-label="props.col.label">
  <svg viewBox="0 0 64 24" width="64" height="24" :class="props.row.dayClass" aria-hidden="true"
       :data-testid="'position-spark-' + props.row.symbol"
       :data-state="props.row.spark === null ? 'loading' : props.row.spark ? 'drawn' : 'empty'">
    <path v-if="props.row.spark" :d="props.row.spark" fill="none" stroke="currentColor" stroke-width="1.5"
          stroke-linejoin="round" stroke-linecap="round" />
    <line v-else x1="0" y1="12" x2="64" y2="12" stroke="currentColor" stroke-width="1" stroke-dasharray="2 3"
          :class="props.row.spark === null ? 'text-gray-300 sw-pulse' : 'text-gray-400'" />
  </svg></q-td>"""


class BookView:
    """Something drawn from the user's book: read when it changes, appraised again at every tick."""

    def __init__(self, user: UserPublic, account_id: uuid.UUID):
        self.user, self.account_id = user, account_id
        self.book: portfolio.Book | None = None
        live.ticked.subscribe(self.render)  # from the page: unsubscribed when the browser goes

    async def reload(self) -> None:
        self.book = await call(portfolio.load, self.account_id)
        self.render()

    def render(self, changed: set[str] | None = None) -> None:
        """Appraise the book again; at a tick, only if a price it holds has changed."""
        if self.book is None:
            return
        if changed is not None and not any(p.symbol in changed for p in self.book.positions):
            return
        self.show(portfolio.appraise(self.book, runtime.current().hub.latest))

    def show(self, state: portfolio.Portfolio) -> None:
        raise NotImplementedError


class LivePortfolio(BookView):
    def __init__(self, user: UserPublic, account_id: uuid.UUID, *, chart: str):
        """`chart`: the test id of the chart that scrubs the headline."""
        super().__init__(user, account_id)
        self.headline = Headline("Investing", source=chart)
        self.symbols: frozenset[str] = frozenset()  # of the positions: their mini charts are followed
        sparklines.follow(self)

    async def reload(self) -> None:
        await super().reload()
        self.symbols = frozenset(p.symbol for p in self.book.positions if p.quantity > 0)
        sparklines.want(self.symbols)

    def lines_changed(self) -> None:
        self.render()

    def cards(self) -> None:
        with ui.row().classes("gap-4 w-full"):
            self.cash = self._card("Cash", "cash")
            self.buying_power = self._card("Buying power", "buying-power")

    @staticmethod
    def _card(title: str, testid: str) -> ui.label:
        with ui.card().classes("sw-card p-5 min-w-48 gap-1"):
            ui.label(title).classes("text-gray-500 text-sm")
            return ui.label("—").classes("text-2xl font-semibold sw-num").props(f'data-testid="{testid}"')

    def table(self) -> None:
        self.positions = stacked(ui.table(columns=COLUMNS, rows=[], row_key="symbol")).classes("w-full")
        self.positions.props('flat dense data-testid="positions" no-data-label="You have no positions yet."')
        self.positions.add_slot(
            "body-cell-symbol",
            """<q-td :props="props" :data-label="props.col.label">
                 <a :href="'/stock/' + props.row.symbol" class="font-medium">{{ props.value }}</a></q-td>""",
        )
        self.positions.add_slot("body-cell-spark", SPARK_CELL)
        self.positions.add_slot(
            "body-cell-day",
            """<q-td :props="props" :data-label="props.col.label" :class="props.row.dayClass">
                 {{ props.value }}</q-td>""",
        )
        self.positions.add_slot(
            "body-cell-pnl",
            """<q-td :props="props" :data-label="props.col.label" :class="props.row.pnlClass">
                 {{ props.value }}</q-td>""",
        )
        self.positions.add_slot("no-data", '<span class="text-gray-500">You have no positions yet.</span>')

    def show(self, state: portfolio.Portfolio) -> None:
        day = f"{signed_money(state.day_change)} ({percent(state.day_change_percent)}) today"
        self.headline.show(money(state.equity), day, direction(state.day_change))
        if hasattr(self, "cash"):
            self.cash.text, self.buying_power.text = money(state.cash), money(state.buying_power)
        if hasattr(self, "positions"):
            rows = [
                {
                    "symbol": p.symbol,
                    "quantity": decimal_text(p.quantity),
                    "price": money(p.last_price),
                    "day": f"{signed_money(p.day_change)} ({percent(p.day_change_percent)})",
                    "dayClass": direction(p.day_change),
                    "spark": sparklines.paths.get(p.symbol),  # None: not built yet
                    "avg": money(p.avg_cost),
                    "value": money(p.market_value),
                    "share": f"{p.portfolio_percent}%",
                    "pnl": f"{signed_money(p.unrealized_pnl)} ({percent(p.unrealized_pnl_percent)})",
                    "pnlClass": direction(p.unrealized_pnl),
                }
                for p in state.positions
            ]
            if rows != self.positions.rows:  # unchanged prices send nothing
                self.positions.rows = rows
