"""Order updates and alerts of the signed-in user, delivered to their open pages from whichever instance caused them."""

import uuid
from collections.abc import Callable

import orjson
from nicegui import Client, ui

from components.numbers import money, size_text
from components.orders_table import TYPE_NAMES
from models.user import UserPublic
from services import runtime
from services.identity import auth


class BrowserListener:
    """One page's subscription to its user's events (see services.event_hub.Listener): every alert, and the order
    updates of the account the page shows (the user's other accounts change nothing on it)."""

    def __init__(self, client: Client, user_id: uuid.UUID, account_id: uuid.UUID):
        self._client, self._user_id, self._account_id = client, str(user_id), str(account_id)
        self.on_order: list[Callable[[dict], None]] = []

    def listen(self, token: str) -> None:
        """Hear the events of the session of this token (a renewed session listens with its new token)."""
        runtime.current().events.register(self, auth.token_hash(token), self._user_id)

    def stop(self) -> None:
        """Hear nothing more: the page is leaving, or is ending its own session (and needs no reload for it)."""
        runtime.current().events.unregister(self)

    def deliver(self, message: bytes) -> None:
        event = orjson.loads(message)
        with self._client:
            if event["type"] == "alert":
                alert = event["data"]
                _tell(f"Alert: {alert['symbol']} is {alert['condition']} {money(alert['price'])}", "warning")
            elif event["type"] == "order_update":
                order = event["data"]
                news = order_news(order)
                if news is not None:
                    _tell(*news)
                if order["accountId"] == self._account_id:
                    for callback in list(self.on_order):
                        callback(order)

    def revoke(self) -> None:
        # Load the page again through the login guard: a browser that logged in anew (its old token ended) stays
        # where it was; one whose session is gone is sent to log in and brought back here afterwards.
        with self._client:
            ui.navigate.reload()


def order_news(order: dict) -> tuple[str, str] | None:
    """What the user is told, wherever they are, when an order ends later than it was placed (a resting limit
    fills, a stop triggers, a day order expires, a stop buy is rejected), and how (a notification type); None for
    what the user did or was told already (placing, canceling, a fill at placement)."""
    size = size_text(order["quantity"], order["notional"])
    what = f"{TYPE_NAMES[order['orderType']]} {order['side']} of {size} {order['symbol']}"
    status = order["status"]
    if status == "filled" and order["filledAt"] != order["createdAt"]:
        return f"{what} filled at {money(order['avgFillPrice'])}", "positive"
    if status == "expired":
        return f"{what} expired", "info"
    if status == "rejected":
        return f"{what} was rejected: {order['rejectReason']}", "negative"
    return None


def _tell(message: str, kind: str) -> None:
    ui.notify(message, type=kind, position="top-right", timeout=10_000, close_button=True)


def follow(user: UserPublic, token: str, account_id: uuid.UUID) -> BrowserListener:
    """Route this user's events to the current page, which shows this account, until the browser leaves it."""
    client = ui.context.client
    listener = BrowserListener(client, user.id, account_id)
    listener.listen(token)
    client.on_delete(listener.stop)
    return listener
