"""Order entry: buy or sell in shares or dollars (a market order by dollars is a notional one), a trailing stop, a
buy with a take-profit and/or a stop-loss (a bracket, an OTO), shares held protected with both (an OCO); with an
estimate, a review step and one idempotency key per order."""

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from nicegui import ui

from components import numbers, order_checks, order_quota
from components.order_checks import (
    FORM,
    LIMIT_FIELD,
    NEEDS_LIMIT,
    NEEDS_STOP,
    QUANTITY_FIELD,
    STOP_FIELD,
    STOP_LOSS_FIELD,
    TAKE_PROFIT_FIELD,
    TRAIL_FIELD,
    trail_text,
)
from components.order_queue import OrderQueue, Outcome, QueuedOrder, move_text, price_move
from components.orders_table import EXPIRIES, TYPE_NAMES
from models.order import OrderClass, OrderCreate, OrderType
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError
from services.leagues import placement
from services.runtime import call
from services.trading import accounts, orders

log = logging.getLogger(__name__)

# The kinds the form builds (the orders page shows every kind, whichever door placed it).
EXITS_LABEL = "With take-profit / stop-loss"
FORM_TYPES = {kind: TYPE_NAMES[kind] for kind in ("market", "limit", "stop", "stop_limit", "trailing_stop")}
TRAIL_UNITS = {"dollars": "$", "percent": "%"}


# Which input a refusal is about, so its sentence appears next to it.
FIELD_OF_CODE = {"INSUFFICIENT_FUNDS": "quantity", "INSUFFICIENT_SHARES": "quantity", "UNKNOWN_SYMBOL": "form"}


def _kind_text(request: OrderCreate) -> str:
    """The order's kind as the review's subtitle says it: "Limit order with a stop-loss"."""
    if request.order_class == OrderClass.OCO:
        return "Take-profit and stop-loss on shares held (OCO)"
    kind = f"{TYPE_NAMES[request.order_type]} order"
    if request.order_class == OrderClass.BRACKET:
        return f"{kind} with take-profit and stop-loss"
    if request.order_class == OrderClass.OTO:
        return f"{kind} with a {'take-profit' if request.take_profit else 'stop-loss'}"
    return kind


class OrderForm:
    def __init__(self, symbol: str, user: UserPublic, account_id: uuid.UUID, on_placed: Callable[[], Awaitable[None]]):
        self.symbol = symbol
        self.user, self.account_id = user, account_id
        self.on_placed = on_placed
        self.key = uuid.uuid4().hex  # one key per order: a double click or a retry cannot place it twice
        self.means = order_checks.Means(buying_power=Decimal(0), held=Decimal(0), available=Decimal(0))
        self._build()

    def _build(self) -> None:
        with ui.card().classes("sw-card w-full p-5 gap-3").props('data-testid="order-form"') as self.card:
            self.side = ui.toggle({"buy": f"Buy {self.symbol}", "sell": f"Sell {self.symbol}"}, value="buy")
            self.side.props('spread no-caps unelevated toggle-color=primary data-testid="side"').classes("w-full")
            self.order_type = ui.select(FORM_TYPES, value="market", label="Order type").props(
                'outlined dense data-testid="order-type"'
            )
            self.order_type.classes("w-full")
            self.unit = ui.toggle({"shares": "Shares", "dollars": "Dollars"}, value="shares").props(
                'dense no-caps data-testid="unit"'
            )
            self.amount = ui.input("Shares", value="").props('outlined dense inputmode=decimal data-testid="amount"')
            self.amount.classes("w-full")
            # A stop-limit order reads in the order it works: the stop triggers it, then the limit bounds its price.
            self.stop = ui.input("Stop price").props('outlined dense inputmode=decimal data-testid="stop-price"')
            self.limit = ui.input("Limit price").props('outlined dense inputmode=decimal data-testid="limit-price"')
            self.stop.classes("w-full")
            self.limit.classes("w-full")
            with ui.row().classes("w-full items-start gap-2 no-wrap") as self.trailing:
                self.trail = ui.input("Trail by").props('outlined dense inputmode=decimal data-testid="trail"')
                self.trail.classes("grow")
                self.trail_unit = ui.toggle(TRAIL_UNITS, value="dollars").props(
                    'dense no-caps data-testid="trail-unit"'
                )
            self.with_exits = ui.switch(EXITS_LABEL).props('dense data-testid="with-exits"')
            self.take_profit = ui.input("Take-profit price").props(
                'outlined dense inputmode=decimal data-testid="take-profit"'
            )
            self.stop_loss = ui.input("Stop-loss price").props(
                'outlined dense inputmode=decimal data-testid="stop-loss"'
            )
            self.take_profit.classes("w-full")
            self.stop_loss.classes("w-full")
            self.tif = ui.select(EXPIRIES, value="day", label="Expires")
            self.tif.props('outlined dense data-testid="tif"').classes("w-full")
            with ui.column().classes("w-full gap-0 text-sm"):
                self.estimate = ui.label().classes("sw-num").props('data-testid="estimate"')
                self.remaining = ui.label().classes("sw-num text-gray-500").props('data-testid="remaining"')
            self.error = ui.label().classes("text-negative text-sm").props('data-testid="order-error"')
            self.quota = ui.label().classes("text-warning text-sm").props('data-testid="order-quota"')
            self.review = ui.button("Review order", on_click=self._review).props(
                'unelevated no-caps data-testid="review"'
            )
            self.review.classes("w-full rounded-full")
            self.queue = OrderQueue(self.symbol, self.account_id, self._send_queued)
        changing = (self.side, self.order_type, self.unit, self.amount, self.limit, self.stop, self.trail)
        for element in (*changing, self.trail_unit, self.with_exits, self.take_profit, self.stop_loss):
            element.on_value_change(self._refresh)
        self.amount.on("keydown.enter", self._review)
        self._refresh()

    async def load_account(self) -> None:
        """Buying power and shares on hand, for the estimate and the checks before submitting."""
        balances = await call(accounts.balances, self.account_id)
        holding = await call(accounts.holding, self.account_id, self.symbol)
        league = await call(placement.limits, self.account_id, self.symbol, dict(runtime.current().hub.latest))
        self.means = order_checks.Means(
            buying_power=balances.buying_power, held=holding.quantity, available=holding.available, league=league
        )
        self._refresh()

    # -- what the form says ------------------------------------------------------------------------------

    def _quote(self):
        return runtime.current().hub.latest.get(self.symbol)

    def _fields(self) -> order_checks.Fields:
        return order_checks.Fields(
            symbol=self.symbol,
            side=self.side.value,
            order_type=self.order_type.value,
            unit=self.unit.value,
            amount=self.amount.value,
            limit=self.limit.value,
            stop=self.stop.value,
            time_in_force=self.tif.value,
            trail=self.trail.value,
            trail_unit=self.trail_unit.value,
            with_exits=self.with_exits.value,
            take_profit=self.take_profit.value,
            stop_loss=self.stop_loss.value,
        )

    def _checked(self) -> order_checks.Checked:
        return order_checks.check(self._fields(), self.means, self._quote(), utcnow())

    def _refresh(self, _event=None) -> None:
        protecting = order_checks.protects_shares(self._fields())
        kind = "limit" if protecting else self.order_type.value
        self.order_type.visible = not protecting
        self.limit.visible = kind in NEEDS_LIMIT and not protecting
        self.stop.visible = kind in NEEDS_STOP
        self.tif.visible = kind != "market"
        self.trailing.visible = kind == OrderType.TRAILING_STOP
        self.with_exits.text = "Protect with take-profit and stop-loss" if self.side.value == "sell" else EXITS_LABEL
        self.take_profit.visible = self.stop_loss.visible = self.with_exits.value
        self.amount.label = "Amount in dollars" if self.unit.value == "dollars" else "Shares"
        self.review.props(f"color={'primary' if self.side.value == 'buy' else 'negative'}")
        checked = self._checked()
        self.queue.show_draft(self._draft(checked))
        quantity, total = checked.quantity, checked.total
        if quantity is None or total is None or quantity <= 0:
            self.estimate.text, self.remaining.text = "", self._power_text()
            return
        size = f"about {numbers.shares(quantity)}" if checked.notional is not None else numbers.shares(quantity)
        if self.side.value == "buy":
            self.estimate.text = f"Estimated cost {numbers.money(total)} for {size}"
            self.remaining.text = f"Buying power left {numbers.money(self.means.buying_power - total)}"
        else:
            self.estimate.text = f"Estimated proceeds {numbers.money(total)} for {size}"
            self.remaining.text = f"{numbers.shares(self.means.available)} available to sell"

    def _draft(self, checked: order_checks.Checked) -> dict:
        """What an order submitted offline queues: the form as it stands (components/order_queue.py)."""
        return {
            "fields": dataclasses.asdict(self._fields()),
            "key": self.key,
            "error": " ".join(checked.errors.values()),
            "verb": "Buy" if self.side.value == "buy" else "Sell",
            "kind": FORM_TYPES[self.order_type.value],
        }

    def _power_text(self) -> str:
        if self.side.value == "buy":
            return f"Buying power {numbers.money(self.means.buying_power)}"
        return f"{numbers.shares(self.means.available)} available to sell"

    def _show_errors(self, errors: dict[str, str]) -> None:
        """Each sentence goes under the input it is about; anything else under the form."""
        inputs = {
            QUANTITY_FIELD: self.amount,
            LIMIT_FIELD: self.limit,
            STOP_FIELD: self.stop,
            TRAIL_FIELD: self.trail,
            TAKE_PROFIT_FIELD: self.take_profit,
            STOP_LOSS_FIELD: self.stop_loss,
        }
        for name, element in inputs.items():
            element.error = errors.get(name)
        self.error.text = " ".join(message for name, message in errors.items() if name not in inputs)

    # -- submitting ----------------------------------------------------------------------------------------

    def _request(self) -> order_checks.Checked | None:
        """The order as the API would receive it, checked in plain words; None after showing what is wrong."""
        checked = self._checked()
        self._show_errors(checked.errors)
        return checked if checked.order is not None else None

    async def _review(self) -> None:
        checked = self._request()
        if checked is None:
            return
        request, total = checked.order, checked.total
        notes, warnings = order_checks.review_notes(request, self._quote())
        with ui.dialog() as dialog, ui.card().classes("sw-card p-6 gap-2 min-w-72 max-w-md") as review:
            review.props('data-testid="review-dialog"')
            verb = "Buy" if request.side == "buy" else "Sell"
            size = (
                numbers.decimal_text(request.quantity) if request.quantity else f"{numbers.money(request.notional)} of"
            )
            ui.label(f"{verb} {size} {self.symbol}").classes("text-xl font-semibold")
            expires = EXPIRIES[request.time_in_force].lower()
            ui.label(f"{_kind_text(request)}, {expires}").classes("text-gray-500")
            if request.stop_price:
                ui.label(f"Stop {numbers.money(request.stop_price)}").classes("sw-num")
            if request.limit_price and request.order_class != OrderClass.OCO:  # an OCO's limit is its take-profit
                ui.label(f"Limit {numbers.money(request.limit_price)}").classes("sw-num")
            if request.order_type == OrderType.TRAILING_STOP:
                ui.label(f"Trail {trail_text(request.trail_price, request.trail_percent)}").classes("sw-num")
            take, loss = order_checks.exit_prices(request)
            if take is not None:
                ui.label(f"Take-profit {numbers.money(take)}").classes("sw-num")
            if loss is not None:
                ui.label(f"Stop-loss {numbers.money(loss)}").classes("sw-num")
            for note in notes:
                ui.label(note).classes("text-sm").props('data-testid="review-note"')
            for warning in warnings:
                with (
                    ui.row()
                    .classes("items-start gap-2 no-wrap text-warning text-sm")
                    .props('data-testid="review-warning"')
                ):
                    ui.icon("warning").classes("text-base")
                    ui.label(warning)
            if total is not None:
                what = "cost" if request.side == "buy" else "proceeds"
                ui.label(f"Estimated {what} {numbers.money(total)}").classes("sw-num font-medium")
                if request.side == "buy":
                    left = numbers.money(self.means.buying_power - total)
                    ui.label(f"Buying power left {left}").classes("sw-num text-gray-500")
            with ui.row().classes("w-full justify-end gap-2 mt-2"):
                ui.button("Edit", on_click=dialog.close).props('flat no-caps data-testid="edit-order"')
                submit = ui.button(f"Submit {verb.lower()}", on_click=lambda: self._submit(request, dialog, submit))
                submit.props('unelevated no-caps autofocus data-testid="submit-order"')  # Enter submits
        dialog.on_value_change(lambda event: event.value or dialog.delete())  # closed reviews leave no elements behind
        dialog.open()

    async def _submit(self, request: OrderCreate, dialog: ui.dialog, button: ui.button) -> None:
        button.props("loading")
        try:
            placement = await orders.submit(
                runtime.current(), user_id=self.user.id, account_id=self.account_id, key=self.key, request=request
            )
        except (DomainError, *UNAVAILABLE) as exc:
            dialog.close()
            self._refused(exc)
            return
        dialog.close()
        await self._placed(placement)

    async def _placed(self, placement: orders.Placement) -> str:
        """Say the order is placed, and make the form ready for the next; returns what the user was told."""
        # Closing the review deletes it and the clicked button with it: whatever is said next is said from the form,
        # which stays (an element made in a deleted slot raises, and the user would be told to retry a filled order).
        with self.card:
            order = orders.order_of(placement)
            self.key = uuid.uuid4().hex
            self.amount.value = ""
            done = "filled" if order.status == "filled" else "placed"
            size = numbers.size_text(order.quantity, order.notional)
            told = f"Order {done}: {order.side} {size} {order.symbol}"
            ui.notify(told, type="positive")
            self._say_quota(order_quota.quota_note(placement.quota), placement.quota.reset if placement.quota else 0)
            await self.load_account()
            await self.on_placed()
        return told

    async def _send_queued(self, queued: QueuedOrder) -> Outcome:
        """An order submitted offline, back once the page is connected: checked again by the form's rules against
        the account and the market now, and placed under the key it was queued with."""
        if queued.key == self.key:  # the queue holds the form's key now: the next order needs its own
            self.key = uuid.uuid4().hex
            self._refresh()
        try:
            await self.load_account()
            quote = self._quote()
            checked = order_checks.check(queued.fields, self.means, quote, utcnow())
            if checked.order is None:
                return "refused", " ".join(checked.errors.values())
            now = quote.last if quote else None
            if not queued.confirmed and price_move(queued.price, now):
                return "confirm", move_text(self.symbol, queued.price, now)
            placement = await orders.submit(
                runtime.current(),
                user_id=self.user.id,
                account_id=self.account_id,
                key=queued.key,
                request=checked.order,
            )
        except DomainError as exc:
            if exc.code == "DUPLICATE_REQUEST":  # being placed from another page: its answer comes next time
                return "retry", ""
            return "refused", exc.message
        except UNAVAILABLE:
            return "retry", UNAVAILABLE_MESSAGE
        return "sent", await self._placed(placement)

    def _say_quota(self, note: str | None, until: int) -> None:
        """Say how near the placement limit the user is, until its window starts again."""
        self.quota.text = note or ""
        if note:

            def window_restarted() -> None:
                if self.quota.text == note:  # not a newer word on the quota
                    self.quota.text = ""

            with self.card:
                ui.timer(until, window_restarted, once=True)

    def _refused(self, exc: Exception) -> None:
        if isinstance(exc, DomainError) and exc.code == "RATE_LIMITED":
            retry_after = exc.retry_after or 0
            self._say_quota(order_quota.limit_reached(exc.details["limit"], retry_after), retry_after)
            return
        if isinstance(exc, DomainError):
            self._show_errors({FIELD_OF_CODE.get(exc.code, FORM): exc.message})
            return
        # The key stays: sending the order again cannot place it twice.
        log.warning("an order could not be placed, the database is unavailable: %s", str(exc).splitlines()[0])
        with self.card:
            ui.notify(UNAVAILABLE_MESSAGE, type="warning")
