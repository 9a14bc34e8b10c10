"""Order entry: buy or sell in shares or dollars, with an estimate, a review step and one idempotency key per order."""

import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from nicegui import ui
from pydantic import ValidationError

from components import numbers
from components.orders_table import TYPE_NAMES
from models.order import OrderCreate
from models.user import UserPublic
from services import runtime
from services.infra.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError
from services.runtime import call
from services.trading import accounts, orders, rules

log = logging.getLogger(__name__)


SHARE = Decimal("0.000001")
# Which input a refusal is about, so its sentence appears next to it.
FIELD_OF_CODE = {"INSUFFICIENT_FUNDS": "quantity", "INSUFFICIENT_SHARES": "quantity", "UNKNOWN_SYMBOL": "form"}


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class OrderForm:
    def __init__(self, symbol: str, user: UserPublic, account_id: uuid.UUID, on_placed: Callable[[], Awaitable[None]]):
        self.symbol = symbol
        self.user, self.account_id = user, account_id
        self.on_placed = on_placed
        self.key = uuid.uuid4().hex  # one key per order: a double click or a retry cannot place it twice
        self.buying_power = Decimal(0)
        self.available = Decimal(0)
        self._build()

    def _build(self) -> None:
        with ui.card().classes("sw-card w-full p-5 gap-3").props('data-testid="order-form"') as self.card:
            self.side = ui.toggle({"buy": f"Buy {self.symbol}", "sell": f"Sell {self.symbol}"}, value="buy")
            self.side.props('spread no-caps unelevated toggle-color=primary data-testid="side"').classes("w-full")
            self.order_type = ui.select(TYPE_NAMES, value="market", label="Order type").props(
                'outlined dense data-testid="order-type"'
            )
            self.order_type.classes("w-full")
            self.unit = ui.toggle({"shares": "Shares", "dollars": "Dollars"}, value="shares").props(
                'dense no-caps data-testid="unit"'
            )
            self.amount = ui.input("Shares", value="").props('outlined dense inputmode=decimal data-testid="amount"')
            self.amount.classes("w-full")
            self.limit = ui.input("Limit price").props('outlined dense inputmode=decimal data-testid="limit-price"')
            self.stop = ui.input("Stop price").props('outlined dense inputmode=decimal data-testid="stop-price"')
            self.limit.classes("w-full")
            self.stop.classes("w-full")
            self.tif = ui.select({"day": "Good for day", "gtc": "Good till canceled"}, value="day", label="Expires")
            self.tif.props('outlined dense data-testid="tif"').classes("w-full")
            with ui.column().classes("w-full gap-0 text-sm"):
                self.estimate = ui.label().classes("sw-num").props('data-testid="estimate"')
                self.remaining = ui.label().classes("sw-num text-gray-500").props('data-testid="remaining"')
            self.error = ui.label().classes("text-negative text-sm").props('data-testid="order-error"')
            self.review = ui.button("Review order", on_click=self._review).props(
                'unelevated no-caps data-testid="review"'
            )
            self.review.classes("w-full rounded-full")
        for element in (self.side, self.order_type, self.unit, self.amount, self.limit, self.stop):
            element.on_value_change(self._refresh)
        self.amount.on("keydown.enter", self._review)
        self._refresh()

    async def load_account(self) -> None:
        """Buying power and shares on hand, for the estimate and the checks before submitting."""
        balances = await call(accounts.balances, self.account_id)
        holding = await call(accounts.holding, self.account_id, self.symbol)
        self.buying_power, self.available = balances.buying_power, holding.available
        self._refresh()

    # -- what the form says ------------------------------------------------------------------------------

    def _price(self) -> Decimal | None:
        """The price the estimate uses: the limit if there is one, else the stop, else the market."""
        quote = runtime.current().hub.latest.get(self.symbol)
        kind = self.order_type.value
        if kind in ("limit", "stop_limit"):
            return _decimal(self.limit.value)
        if kind == "stop":
            return _decimal(self.stop.value)
        if quote is None:
            return None
        return quote.ask if self.side.value == "buy" else quote.bid

    def _quantity(self) -> Decimal | None:
        amount = _decimal(self.amount.value)
        if amount is None or self.unit.value == "shares":
            return amount
        price = self._price()
        return (amount / price).quantize(SHARE, rounding=ROUND_DOWN) if price else None

    def _refresh(self, _event=None) -> None:
        kind = self.order_type.value
        self.limit.visible = kind in ("limit", "stop_limit")
        self.stop.visible = kind in ("stop", "stop_limit")
        self.tif.visible = kind != "market"
        self.amount.label = "Amount in dollars" if self.unit.value == "dollars" else "Shares"
        self.review.props(f"color={'primary' if self.side.value == 'buy' else 'negative'}")
        quantity, price = self._quantity(), self._price()
        if quantity is None or price is None or quantity <= 0:
            self.estimate.text, self.remaining.text = "", self._power_text()
            return
        total = rules.cash_moved(self.side.value, quantity, price)
        if self.side.value == "buy":
            self.estimate.text = f"Estimated cost {numbers.money(total)} for {numbers.decimal_text(quantity)} shares"
            self.remaining.text = f"Buying power left {numbers.money(self.buying_power - total)}"
        else:
            self.estimate.text = f"Estimated proceeds {numbers.money(total)}"
            self.remaining.text = f"{numbers.decimal_text(self.available)} shares available to sell"

    def _power_text(self) -> str:
        if self.side.value == "buy":
            return f"Buying power {numbers.money(self.buying_power)}"
        return f"{numbers.decimal_text(self.available)} shares available to sell"

    def _show_error(self, field: str, message: str) -> None:
        """The sentence goes under the input it is about; anything else under the form."""
        inputs = {"quantity": self.amount, "limitPrice": self.limit, "stopPrice": self.stop}
        for name, element in inputs.items():
            element.error = message if name == field else None
        self.error.text = "" if field in inputs else message

    def _estimate(self, request: OrderCreate) -> Decimal | None:
        price = self._price()
        return rules.cash_moved(request.side, request.quantity, price) if price else None

    # -- submitting ----------------------------------------------------------------------------------------

    def _request(self) -> OrderCreate | None:
        """The order as the API would receive it, checked by the same rules; None after showing what is wrong."""
        quantity = self._quantity()
        if quantity is None or quantity <= 0:
            self._show_error("quantity", "Enter how much to trade.")
            return None
        kind = self.order_type.value
        try:
            request = OrderCreate(
                symbol=self.symbol,
                side=self.side.value,
                order_type=kind,
                quantity=quantity,
                limit_price=_decimal(self.limit.value) if kind in ("limit", "stop_limit") else None,
                stop_price=_decimal(self.stop.value) if kind in ("stop", "stop_limit") else None,
                time_in_force=self.tif.value if kind != "market" else "day",
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            field = (err.get("ctx") or {}).get("field") or {"limit_price": "limitPrice", "stop_price": "stopPrice"}.get(
                str(err["loc"][0]) if err["loc"] else "", "quantity"
            )
            self._show_error(field, err["msg"].removeprefix("Value error, "))
            return None
        if request.side == "sell" and request.quantity > self.available:
            self._show_error("quantity", f"You have {numbers.decimal_text(self.available)} shares available to sell.")
            return None
        cost = self._estimate(request)
        if request.side == "buy" and cost is not None and cost > self.buying_power:
            self._show_error(
                "quantity",
                f"Not enough buying power: this costs about {numbers.money(cost)}, "
                f"you have {numbers.money(self.buying_power)}.",
            )
            return None
        self._show_error("", "")
        return request

    async def _review(self) -> None:
        request = self._request()
        if request is None:
            return
        total = self._estimate(request)
        with ui.dialog() as dialog, ui.card().classes("sw-card p-6 gap-2 min-w-72") as review:
            review.props('data-testid="review-dialog"')
            verb = "Buy" if request.side == "buy" else "Sell"
            ui.label(f"{verb} {numbers.decimal_text(request.quantity)} {self.symbol}").classes("text-xl font-semibold")
            expires = "good for day" if request.time_in_force == "day" else "good till canceled"
            ui.label(f"{TYPE_NAMES[request.order_type]} order, {expires}").classes("text-gray-500")
            if request.stop_price:
                ui.label(f"Stop {numbers.money(request.stop_price)}").classes("sw-num")
            if request.limit_price:
                ui.label(f"Limit {numbers.money(request.limit_price)}").classes("sw-num")
            if total is not None:
                what = "cost" if request.side == "buy" else "proceeds"
                ui.label(f"Estimated {what} {numbers.money(total)}").classes("sw-num font-medium")
                if request.side == "buy":
                    left = numbers.money(self.buying_power - total)
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
        # Closing the review deletes it and the clicked button with it: whatever is said next is said from the form,
        # which stays (an element made in a deleted slot raises, and the user would be told to retry a filled order).
        with self.card:
            order = orders.order_of(placement)
            self.key = uuid.uuid4().hex
            self.amount.value = ""
            done = "filled" if order.status == "filled" else "placed"
            ui.notify(
                f"Order {done}: {order.side} {numbers.decimal_text(order.quantity)} {order.symbol}", type="positive"
            )
            await self.load_account()
            await self.on_placed()

    def _refused(self, exc: Exception) -> None:
        if isinstance(exc, DomainError):
            self._show_error(FIELD_OF_CODE.get(exc.code, "form"), exc.message)
            return
        # The key stays: sending the order again cannot place it twice.
        log.warning("an order could not be placed, the database is unavailable: %s", str(exc).splitlines()[0])
        with self.card:
            ui.notify(UNAVAILABLE_MESSAGE, type="warning")
