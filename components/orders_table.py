"""A user's orders as a table: a row opens the order's detail, an open order can be canceled (after a
confirmation); refreshed when any of them changes."""

import logging
import uuid
from datetime import datetime

from nicegui import ui

from components import dialogs
from components.numbers import decimal_text, money
from models.order import OrderPublic, OrderStatus, Side
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError
from services.runtime import call
from services.trading import order_history, orders

log = logging.getLogger(__name__)

TYPE_NAMES = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "Stop limit"}
EXPIRIES = {"day": "Good for day", "gtc": "Good till canceled"}
# The time a table shows: when an order was placed, or (a table of fills) when it filled.
WHEN = {"placed": "Placed", "filled": "Filled"}


def _columns(when: str) -> list[dict]:
    return [
        {"name": "time", "label": WHEN[when], "field": "time", "align": "left"},
        {"name": "symbol", "label": "Symbol", "field": "symbol", "align": "left"},
        {"name": "side", "label": "Side", "field": "side", "align": "left"},
        {"name": "type", "label": "Type", "field": "type", "align": "left"},
        {"name": "quantity", "label": "Shares", "field": "quantity", "align": "right"},
        {"name": "price", "label": "Price", "field": "price", "align": "right"},
        {"name": "status", "label": "Status", "field": "status", "align": "left"},
        {"name": "action", "label": "", "field": "action", "align": "right"},
    ]


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%b %d, %H:%M:%S") if moment else "—"


def _full_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%b %d %Y, %H:%M:%S")


def _order_prices(order: OrderPublic) -> str:
    parts = []
    if order.stop_price is not None:
        parts.append(f"stop {money(order.stop_price)}")
    if order.limit_price is not None:
        parts.append(f"limit {money(order.limit_price)}")
    return ", ".join(parts)


def _price(order: OrderPublic) -> str:
    """What it filled at, and the prices it was given (a filled stop still says where its stop was)."""
    asked = _order_prices(order)
    if order.avg_fill_price is not None:
        return f"{money(order.avg_fill_price)} · {asked}" if asked else money(order.avg_fill_price)
    return asked or "market"


def describe(order: OrderPublic) -> str:
    """The order in a few words: 'limit buy of 10 AAPL at $90.00'."""
    what = f"{TYPE_NAMES[order.order_type].lower()} {order.side} of {decimal_text(order.quantity)} {order.symbol}"
    asked = _order_prices(order)
    return f"{what} ({asked})" if asked else what


def _row(order: OrderPublic, time: str) -> dict:
    return {
        "id": str(order.id),
        "time": when(order.filled_at if time == "filled" else order.created_at),
        "symbol": order.symbol,
        "side": order.side.capitalize(),
        "type": TYPE_NAMES[order.order_type],
        "quantity": decimal_text(order.quantity),
        "price": _price(order),
        "status": order.status.capitalize(),
        "cancelable": order.status == OrderStatus.PENDING,
    }


def _fact(label: str, value: str, testid: str) -> None:
    with ui.row().classes("w-full justify-between gap-4 no-wrap"):
        ui.label(label).classes("text-gray-500")
        ui.label(value).classes("sw-num text-right").props(f'data-testid="detail-{testid}"')


def _detail_facts(found: order_history.OrderDetail) -> None:
    order = found.order
    _fact("Status", order.status.capitalize(), "status")
    _fact("Shares", f"{decimal_text(order.filled_quantity)} of {decimal_text(order.quantity)} filled", "shares")
    if order.stop_price is not None:
        _fact("Stop price", money(order.stop_price), "stop")
    if order.limit_price is not None:
        _fact("Limit price", money(order.limit_price), "limit")
    if order.avg_fill_price is not None:
        _fact("Average fill price", money(order.avg_fill_price), "fill-price")
    _fact("Time in force", EXPIRIES[order.time_in_force], "tif")
    if order.status == OrderStatus.PENDING and order.expires_at is not None:
        _fact("Expires", _full_time(order.expires_at), "expires")
    if order.reject_reason:
        _fact("Why rejected", order.reject_reason, "reject-reason")
    if order.client_order_id:
        _fact("Client order id", order.client_order_id, "client-order-id")


def _detail_lists(found: order_history.OrderDetail) -> None:
    order = found.order
    if found.fills:
        ui.label("Fills").classes("font-semibold mt-2")
        paid = "cost" if order.side == Side.BUY else "raised"
        for fill in found.fills:
            ui.label(
                f"{_full_time(fill.at)} · {decimal_text(fill.quantity)} at {money(fill.price)} · "
                f"{paid} {money(fill.cash)}"
            ).classes("sw-num text-sm").props('data-testid="detail-fill"')
    ui.label("Status history").classes("font-semibold mt-2")
    for step in found.history:
        with ui.row().classes("w-full justify-between gap-4 no-wrap text-sm").props('data-testid="detail-step"'):
            ui.label(step.what)
            ui.label(_full_time(step.at)).classes("sw-num text-gray-500")
    ui.label(f"Order {order.id}").classes("text-xs text-gray-400 mt-2 break-all")


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
        time: str = "placed",  # "filled": the latest fills, with their fill time
    ):
        self.user, self.account_id = user, account_id
        self.status, self.symbol, self.limit, self.time = status, symbol, limit, time
        self.shown: dict[str, OrderPublic] = {}
        # Dialogs are made in this column, which outlives the rows (a refresh replaces them).
        with ui.column().classes("w-full gap-0") as self.container:
            self.table = (
                ui.table(columns=_columns(time), rows=[], row_key="id")
                .classes("w-full cursor-pointer")
                .props(f'flat dense no-data-label="{empty}" data-testid="{testid}"')
            )
        self.table.add_slot(
            "body-cell-action",
            """<q-td :props="props">
                 <q-btn v-if="props.row.cancelable" flat dense no-caps color="negative" label="Cancel"
                        :data-testid="'cancel-' + props.row.symbol"
                        @click.stop="() => $parent.$emit('cancel', props.row)" />
               </q-td>""",
        )
        self.table.add_slot(
            "body-cell-symbol",
            """<q-td :props="props"><a :href="'/stock/' + props.row.symbol" class="font-medium" @click.stop>{{
               props.value }}</a></q-td>""",
        )
        self.table.add_slot("no-data", f'<span class="text-gray-500">{empty}</span>')
        self.table.on("cancel", lambda event: self.ask_to_cancel(event.args["id"]))
        self.table.on("rowClick", lambda event: self.open_detail(event.args[1]["id"]))

    async def refresh(self) -> None:
        if self.time == "filled":
            found = await call(order_history.recent_fills, account_id=self.account_id, limit=self.limit)
        else:
            found = await call(
                orders.list_orders, account_id=self.account_id, status=self.status, limit=self.limit, symbol=self.symbol
            )
        self.shown = {str(order.id): order for order in found}
        self.table.rows = [_row(order, self.time) for order in found]

    async def open_detail(self, order_id: str) -> None:
        found = await call(order_history.detail, account_id=self.account_id, order_id=uuid.UUID(order_id))
        order = found.order
        title = f"{TYPE_NAMES[order.order_type]} {order.side} · {decimal_text(order.quantity)} {order.symbol}"
        shown, card = dialogs.dialog(self.container, title, "order-detail")
        with card:
            _detail_facts(found)
            _detail_lists(found)
            with ui.row().classes("w-full justify-end gap-2 mt-2"):
                if order.status == OrderStatus.PENDING:

                    def cancel_instead() -> None:
                        shown.close()
                        self.ask_to_cancel(order_id)

                    ui.button("Cancel order", on_click=cancel_instead).props(
                        'flat no-caps color=negative data-testid="detail-cancel"'
                    )
                ui.button("Close", on_click=shown.close).props('unelevated no-caps data-testid="detail-close"')
        shown.open()

    def ask_to_cancel(self, order_id: str) -> None:
        order = self.shown.get(order_id)
        if order is None:
            return
        held = "cash it holds back is" if order.side == Side.BUY else "shares it holds back are"
        dialogs.confirm(
            self.container,
            f"Cancel your {describe(order)}?",
            "cancel-dialog",
            f"It will no longer fill, and the {held} free again.",
            "Cancel order",
            lambda: self._cancel(order),
            dismiss="Keep order",
        )

    async def _cancel(self, order: OrderPublic) -> None:
        rt = runtime.current()
        with self.container:  # not in the dialog, which closes next
            try:
                await orders.cancel(
                    rt.store, rt.bus, user_id=self.user.id, account_id=self.account_id, order_id=order.id, now=utcnow()
                )
                ui.notify(f"Canceled your {describe(order)}", type="info")
            except DomainError as exc:
                ui.notify(exc.message, type="negative")
            except UNAVAILABLE as exc:
                log.warning("an order could not be canceled, the database is unavailable: %s", str(exc).splitlines()[0])
                ui.notify(UNAVAILABLE_MESSAGE, type="warning")
                return
        await self.refresh()
