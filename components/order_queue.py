"""Orders submitted while the browser is offline: they wait in the browser and go once the page is back.

While the page's socket is down the server's element tree is soon gone, so the queue lives in the browser
(order_queue.js, in localStorage: a reload keeps it). The browser also keeps the offline clicks on "Review order"
and "Submit" from reaching the server at all, since NiceGUI would otherwise replay them on reconnect. Once the page
is connected again, each queued order comes back through the page, not the REST API: the page's form then checks it
with the same rules and places it by the same road as an order submitted online (no session token in JavaScript,
no second copy of the checks), with the key it was queued under, so a retry cannot place it twice.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Literal

from nicegui import ui
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components import live, numbers
from components.order_checks import Fields
from services import runtime

log = logging.getLogger(__name__)

TOLERANCE = Decimal("0.01")  # a price that moved more than 1 % since the order was queued asks again

Outcome = tuple[Literal["sent", "confirm", "refused", "retry"], str]


class QueuedOrder(BaseModel):
    """A queued order as the browser sends it back (the browser's word: checked again like any order)."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(pattern=r"^[0-9a-f]{32}$")
    fields: Fields
    price: Decimal | None = None  # the last price when it was queued
    confirmed: bool = False  # the user has seen the price move and sends it anyway


def price_move(queued: Decimal | None, now: Decimal | None) -> Decimal | None:
    """The price's move since the order was queued, as a fraction, when it is more than TOLERANCE; else None."""
    if not queued or now is None:
        return None
    move = (now - queued) / queued
    return move if abs(move) > TOLERANCE else None


def move_text(symbol: str, queued: Decimal, now: Decimal) -> str:
    change = numbers.percent((now - queued) / queued * 100)
    return (
        f"{symbol} moved from {numbers.money(queued)} to {numbers.money(now)} ({change}) since you queued this "
        "order. Send it at today's price, or discard it."
    )


class OrderQueue(ui.element, component="order_queue.js"):
    """The form's offline queue: says when the page is offline, keeps the orders submitted meanwhile and sends them
    through `send` once connected; `send` answers what became of each."""

    def __init__(self, symbol: str, account_id: uuid.UUID, send: Callable[[QueuedOrder], Awaitable[Outcome]]):
        super().__init__()
        self.symbol, self._send = symbol, send
        self._sending: set[str] = set()  # keys being sent: the browser may send one again before the answer
        self._props.update(symbol=symbol, account=str(account_id), draft=None, price=None)
        self._tick()
        live.ticked.subscribe(self._tick)  # from the page: unsubscribed when the browser goes
        self.on("send", self._sent)

    def show_draft(self, draft: dict | None) -> None:
        """The form as the server last checked it: what an offline submit queues (None while it is not an order)."""
        if draft != self._props["draft"]:
            self._props["draft"] = draft
            self.update()

    def _tick(self, changed: set[str] | None = None) -> None:
        if changed is not None and self.symbol not in changed:
            return
        quote = runtime.current().hub.latest.get(self.symbol)
        price = None if quote is None else str(quote.last)
        if price != self._props["price"]:
            self._props["price"] = price
            self.update()

    async def _sent(self, event) -> None:
        try:
            order = QueuedOrder.model_validate(event.args)
        except ValidationError as exc:
            log.warning("a queued order from the browser is not one: %s", exc.errors()[:1])
            return
        if order.fields.symbol != self.symbol or order.key in self._sending:
            return
        self._sending.add(order.key)
        try:
            state, message = await self._send(order)
        finally:
            self._sending.discard(order.key)
        self.run_method("settled", order.key, state, message)
