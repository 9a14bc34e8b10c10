"""A user's orders as a table, with cancel for the open ones; refreshed when any of them changes."""

import uuid
from datetime import datetime

from nicegui import ui

from components.numbers import decimal_text, money
from models.order import OrderPublic
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import DomainError
from services.runtime import call
from services.trading import orders

COLUMNS = [
    {"name": "time", "label": "Placed", "field": "time", "align": "left"},
    {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
    {"name": "side", "label": "Side", "field": "side", "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "quantity", "label": "Shares", "field": "quantity", "align": "right"},
    {"name": "price", "label": "Price", "field": "price", "align": "right"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "action", "label": "", "field": "action", "align": "right"},
]
TYPE_NAMES = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "Stop limit"}


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%b %d, %H:%M:%S")


def _price(order: OrderPublic) -> str:
    if order.avg_fill_price is not None:
        return money(order.avg_fill_price)
    parts = []
    if order.stop_price is not None:
        parts.append(f"stop {money(order.stop_price)}")
    if order.limit_price is not None:
        parts.append(f"limit {money(order.limit_price)}")
    return ", ".join(parts) or "market"


def _row(order: OrderPublic) -> dict:
    return {
        "id": str(order.id),
        "time": _when(order.created_at),
        "symbol": order.symbol,
        "side": order.side.capitalize(),
        "type": TYPE_NAMES[order.order_type],
        "quantity": decimal_text(order.quantity),
        "price": _price(order),
        "status": order.status.capitalize(),
        "cancelable": order.status == "pending",
    }


class OrdersTable:
    def __init__(
        self,
        user: UserPublic,
        account_id: uuid.UUID,
        *,
        status: str | None = None,
        symbol: str | None = None,
        limit: int = 50,
        empty: str = "No orders yet.",
        testid: str = "orders",
    ):
        self.user, self.account_id = user, account_id
        self.status, self.symbol, self.limit = status, symbol, limit
        self.table = (
            ui.table(columns=COLUMNS, rows=[], row_key="id")
            .classes("w-full")
            .props(f'flat dense no-data-label="{empty}" data-testid="{testid}"')
        )
        self.table.add_slot(
            "body-cell-action",
            """<q-td :props="props">
                 <q-btn v-if="props.row.cancelable" flat dense no-caps color="negative" label="Cancel"
                        :data-testid="'cancel-' + props.row.symbol"
                        @click="() => $parent.$emit('cancel', props.row)" />
               </q-td>""",
        )
        self.table.add_slot(
            "body-cell-symbol",
            """<q-td :props="props"><a :href="'/stock/' + props.row.symbol" class="font-medium">{{ props.value }}</a>
               </q-td>""",
        )
        self.table.add_slot("no-data", f'<span class="text-gray-500">{empty}</span>')
        self.table.on("cancel", self._cancel)

    async def refresh(self) -> None:
        found = await call(
            orders.list_orders, account_id=self.account_id, status=self.status, limit=self.limit, symbol=self.symbol
        )
        self.table.rows = [_row(order) for order in found]

    async def _cancel(self, event) -> None:
        try:
            order_id = uuid.UUID(event.args["id"])
            rt = runtime.current()
            await orders.cancel(
                rt.store,
                rt.bus,
                user_id=self.user.id,
                account_id=self.account_id,
                order_id=order_id,
                now=utcnow(),
            )
            ui.notify(f"Canceled your {event.args['symbol']} order", type="info")
        except DomainError as exc:
            ui.notify(exc.message, type="negative")
        await self.refresh()
