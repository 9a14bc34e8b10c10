"""Order updates and alerts of the signed-in user, delivered to their open pages from whichever instance caused them."""

import uuid
from collections.abc import Callable

import orjson
from nicegui import Client, ui

from models.user import UserPublic
from services import runtime
from services.identity import auth


class BrowserListener:
    """One page's subscription to its user's events (see services.event_hub.Listener): every alert, and the order
    updates of the account the page shows (the user's other accounts change nothing on it)."""

    def __init__(self, client: Client, account_id: uuid.UUID):
        self._client, self._account_id = client, str(account_id)
        self.on_order: list[Callable[[dict], None]] = []

    def deliver(self, message: bytes) -> None:
        event = orjson.loads(message)
        with self._client:
            if event["type"] == "alert":
                alert = event["data"]
                ui.notify(
                    f"Alert: {alert['symbol']} is {alert['condition']} {alert['price']}",
                    type="warning",
                    position="top-right",
                    timeout=10_000,
                    close_button=True,
                )
            elif event["type"] == "order_update" and event["data"]["accountId"] == self._account_id:
                for callback in list(self.on_order):
                    callback(event["data"])

    def revoke(self) -> None:
        # Load the page again through the login guard: a browser that logged in anew (its old token ended) stays
        # where it was; one whose session is gone is sent to log in and brought back here afterwards.
        with self._client:
            ui.navigate.reload()


def follow(user: UserPublic, token: str, account_id: uuid.UUID) -> BrowserListener:
    """Route this user's events to the current page, which shows this account, until the browser leaves it."""
    client = ui.context.client
    listener = BrowserListener(client, account_id)
    events = runtime.current().events
    events.register(listener, auth.token_hash(token), str(user.id))
    client.on_delete(lambda: events.unregister(listener))
    return listener
