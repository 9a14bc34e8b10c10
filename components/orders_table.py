"""A user's orders as a table: a row opens the order's detail, an open order can be edited (a replace) or canceled
(after a confirmation), an order's exit legs are listed under it; refreshed when any of them changes (a trailing
stop's row shows where its stop stands now)."""

import logging
import uuid
from datetime import datetime

from nicegui import ui

from components import dialogs, order_checks
from components.numbers import decimal_text, money, size_text
from components.tables import stacked
from models.order import OrderPublic, OrderStatus, OrderType, Side, price_text
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError
from services.runtime import call
from services.trading import order_history, orders

log = logging.getLogger(__name__)

TYPE_NAMES = {
    "market": "Market",
    "limit": "Limit",
    "stop": "Stop",
    "stop_limit": "Stop limit",
    "trailing_stop": "Trailing stop",
}
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
    if order.order_type == OrderType.TRAILING_STOP:
        parts.append(f"trails {order_checks.trail_text(order.trail_price, order.trail_percent)}")
        if order.high_water_mark is not None:
            best = "high" if order.side == Side.SELL else "low"
            parts.append(f"{best} {money(order.high_water_mark)}")
    return ", ".join(parts)


def leg_name(order: OrderPublic) -> str:
    """What an exit leg does for its entry: a limit takes the profit, a stop stops the loss; "" for any other order."""
    if order.parent_id is None:
        return ""
    return "Take-profit" if order.order_type == OrderType.LIMIT else "Stop-loss"


def grouped(found: list[OrderPublic]) -> list[OrderPublic]:
    """The orders in their order, each parent followed by its legs (a leg whose parent is not listed stands alone)."""
    listed = {order.id for order in found}
    rows = []
    for order in found:
        if order.parent_id in listed:
            continue
        rows.append(order)
        newest_first = sorted(order.legs or (), key=lambda leg: leg.created_at, reverse=True)
        rows.extend(sorted(newest_first, key=lambda leg: leg_name(leg) != "Take-profit"))  # then the stop-loss
    return rows


def editable(order: OrderPublic) -> bool:
    """A pending order can be replaced, unless it fills at once anyway or is an entry whose legs still wait on it."""
    waiting = any(leg.status in (OrderStatus.PENDING, OrderStatus.HELD) for leg in order.legs or ())
    return order.status == OrderStatus.PENDING and order.order_type != OrderType.MARKET and not waiting


def _price(order: OrderPublic) -> str:
    """What it filled at, and the prices it was given (a filled stop still says where its stop was)."""
    asked = _order_prices(order)
    if order.avg_fill_price is not None:
        return f"{money(order.avg_fill_price)} · {asked}" if asked else money(order.avg_fill_price)
    return asked or "market"


def describe(order: OrderPublic) -> str:
    """The order in a few words: 'limit buy of 10 AAPL at $90.00'."""
    size = size_text(order.quantity, order.notional)
    what = f"{TYPE_NAMES[order.order_type].lower()} {order.side} of {size} {order.symbol}"
    asked = _order_prices(order)
    return f"{what} ({asked})" if asked else what


def _row(order: OrderPublic, time: str) -> dict:
    return {
        "id": str(order.id),
        "time": when(order.filled_at if time == "filled" else order.created_at),
        "symbol": order.symbol,
        "side": order.side.capitalize(),
        "type": TYPE_NAMES[order.order_type],
        "quantity": size_text(order.quantity, order.notional),
        "price": _price(order),
        "status": order.status.capitalize(),
        "cancelable": order.status == OrderStatus.PENDING,
        "editable": editable(order),
        "leg": leg_name(order),
    }


def _fact(label: str, value: str, testid: str) -> None:
    with ui.row().classes("w-full justify-between gap-4 no-wrap"):
        ui.label(label).classes("text-gray-500")
        ui.label(value).classes("sw-num text-right").props(f'data-testid="detail-{testid}"')


def _detail_facts(found: order_history.OrderDetail) -> None:
    order = found.order
    _fact("Status", order.status.capitalize(), "status")
    size = size_text(order.quantity, order.notional)
    _fact("Shares", f"{decimal_text(order.filled_quantity)} of {size} filled", "shares")
    if order.stop_price is not None:
        _fact("Stop price", money(order.stop_price), "stop")
    if order.limit_price is not None:
        _fact("Limit price", money(order.limit_price), "limit")
    if order.order_type == OrderType.TRAILING_STOP:
        _fact("Trails by", order_checks.trail_text(order.trail_price, order.trail_percent), "trail")
        if order.high_water_mark is not None:
            best = "Highest price since placed" if order.side == Side.SELL else "Lowest price since placed"
            _fact(best, money(order.high_water_mark), "high-water-mark")
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
                stacked(ui.table(columns=_columns(time), rows=[], row_key="id"))
                .classes("w-full cursor-pointer")
                .props(f'flat dense no-data-label="{empty}" data-testid="{testid}"')
            )
        self.table.add_slot(
            "body-cell-action",
            """<q-td :props="props" :data-label="props.col.label">
                 <q-btn v-if="props.row.editable" flat dense no-caps color="primary" label="Edit"
                        :data-testid="'edit-' + props.row.symbol"
                        @click.stop="() => $parent.$emit('edit', props.row)" />
                 <q-btn v-if="props.row.cancelable" flat dense no-caps color="negative" label="Cancel"
                        :data-testid="'cancel-' + props.row.symbol"
                        @click.stop="() => $parent.$emit('cancel', props.row)" />
               </q-td>""",
        )
        self.table.add_slot(
            "body-cell-symbol",
            """<q-td :props="props" :data-label="props.col.label"><a :href="'/stock/' + props.row.symbol"
               class="font-medium" @click.stop>{{ props.value }}</a></q-td>""",
        )
        # A leg sits under its entry, indented and named for what it does.
        self.table.add_slot(
            "body-cell-type",
            """<q-td :props="props" :data-label="props.col.label" :class="props.row.leg ? 'pl-8' : ''">
                 <span v-if="props.row.leg" class="text-gray-500" data-testid="leg-name">↳ {{ props.row.leg }} · </span>
                 {{ props.value }}</q-td>""",
        )
        self.table.add_slot("no-data", f'<span class="text-gray-500">{empty}</span>')
        self.table.on("cancel", lambda event: self.ask_to_cancel(event.args["id"]))
        self.table.on("edit", lambda event: self.open_edit(event.args["id"]))
        self.table.on("rowClick", lambda event: self.open_detail(event.args[1]["id"]))

    async def refresh(self) -> None:
        if self.time == "filled":
            found = await call(order_history.recent_fills, account_id=self.account_id, limit=self.limit)
        else:
            found = await call(
                orders.list_orders, account_id=self.account_id, status=self.status, limit=self.limit, symbol=self.symbol
            )
        listed = grouped(found)
        self.shown = {str(order.id): order for order in listed}
        self.table.rows = [_row(order, self.time) for order in listed]

    async def open_detail(self, order_id: str) -> None:
        found = await call(order_history.detail, account_id=self.account_id, order_id=uuid.UUID(order_id))
        order = found.order
        size = size_text(order.quantity, order.notional)
        title = f"{TYPE_NAMES[order.order_type]} {order.side} · {size} {order.symbol}"
        shown, card = dialogs.dialog(self.container, title, "order-detail")
        with card:
            _detail_facts(found)
            _detail_lists(found)
            with ui.row().classes("w-full justify-end gap-2 mt-2"):
                if editable(order):

                    def edit_instead() -> None:
                        shown.close()
                        self.open_edit(order_id)

                    ui.button("Edit order", on_click=edit_instead).props('flat no-caps data-testid="detail-edit"')
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

    def open_edit(self, order_id: str) -> None:
        """Change a pending order's shares or prices: the change replaces it with a new order."""
        order = self.shown.get(order_id)
        if order is None:
            return
        text = "The order is replaced by one with your changes; the old one shows as replaced."
        shown, card = dialogs.dialog(self.container, f"Edit your {describe(order)}", "edit-dialog", text)
        inputs: dict[str, ui.input] = {}
        with card:
            if order.parent_id is None and order.quantity is not None:  # a leg sells what its entry bought
                inputs[order_checks.QUANTITY_FIELD] = _edit_input("Shares", decimal_text(order.quantity), "quantity")
            if order.order_type in order_checks.NEEDS_STOP:
                inputs[order_checks.STOP_FIELD] = _edit_input("Stop price", price_text(order.stop_price), "stop")
            if order.order_type in order_checks.NEEDS_LIMIT:
                inputs[order_checks.LIMIT_FIELD] = _edit_input("Limit price", price_text(order.limit_price), "limit")
            if order.order_type == OrderType.TRAILING_STOP:
                percent = order.trail_percent is not None
                trail = decimal_text(order.trail_percent) if percent else price_text(order.trail_price)
                inputs[order_checks.TRAIL_FIELD] = _edit_input(f"Trail by ({'%' if percent else '$'})", trail, "trail")
            error = ui.label().classes("text-negative text-sm").props('data-testid="edit-error"')
            dialogs.buttons(shown, "Replace order", lambda: self._replace(order, inputs, error, shown), dismiss="Keep")
        shown.open()

    async def _replace(
        self, order: OrderPublic, inputs: dict[str, ui.input], error: ui.label, shown: ui.dialog
    ) -> None:
        rt = runtime.current()
        typed = {name: element.value for name, element in inputs.items()}
        change, errors = order_checks.check_change(
            order,
            quantity=typed.get(order_checks.QUANTITY_FIELD, ""),
            limit=typed.get(order_checks.LIMIT_FIELD, ""),
            stop=typed.get(order_checks.STOP_FIELD, ""),
            trail=typed.get(order_checks.TRAIL_FIELD, ""),
            quote=rt.hub.latest.get(order.symbol),
        )
        for name, element in inputs.items():
            element.error = errors.get(name)
        error.text = " ".join(message for name, message in errors.items() if name not in inputs)
        if change is None:
            return
        try:
            new = (
                await orders.submit_replacement(
                    rt, user_id=self.user.id, account_id=self.account_id, order_id=order.id, change=change
                )
            ).order
        except DomainError as exc:
            error.text = exc.message
            return
        except UNAVAILABLE as exc:
            log.warning("an order could not be replaced, the database is unavailable: %s", str(exc).splitlines()[0])
            error.text = UNAVAILABLE_MESSAGE
            return
        shown.close()
        with self.container:  # not in the dialog, which is gone
            ui.notify(f"Replaced your {describe(order)} with a {describe(new)}", type="info")
        await self.refresh()


def _edit_input(label: str, value: str, testid: str) -> ui.input:
    field = ui.input(label, value=value).props(f'outlined dense inputmode=decimal data-testid="edit-{testid}"')
    return field.classes("w-full")
