"""The `trade_updates` stream at /alpaca/stream (and /alpaca/stream/, where alpaca-trade-api connects): Alpaca's
protocol over Sherwood's order updates, from the same event hub as /ws, for the account the credentials act on.

Nothing is sent before the reply to `authenticate` (alpaca-py reads that first frame). Replies are JSON in binary
frames, as Alpaca sends them. A fill made at placement is told as `new` then `fill`, as Alpaca tells it.
"""

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnected

from api.alpaca.shapes import Order, text, ts
from api.deps import Credentials, identify
from models.account import Position
from models.order import OrderPublic
from services import runtime
from services.identity import auth
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.infra.event_hub import key_credential
from services.infra.tasks import cancel_and_wait
from services.trading import accounts

log = logging.getLogger(__name__)
router = APIRouter()

STREAM = "trade_updates"
BACKLOG = 1000  # order updates a client may owe before it counts as gone
AUTH_TIMEOUT = 10.0
_EVENT_BY_STATUS = {"pending": "new", "filled": "fill", "canceled": "canceled"}
_EVENT_BY_STATUS |= {"expired": "expired", "rejected": "rejected", "replaced": "replaced"}


def _authorization(action: str, status: str) -> dict[str, Any]:
    return {"stream": "authorization", "data": {"action": action, "status": status}}


@router.websocket("/stream")
@router.websocket("/stream/")
async def trade_updates(websocket: WebSocket) -> None:
    await websocket.accept()
    await TradeUpdates(websocket).serve()


def _position_qty(account_id: uuid.UUID, symbol: str) -> str:
    with session_scope(runtime.current().engine) as db:
        position = db.get(Position, (account_id, symbol))
    return text(position.quantity) if position else "0"


async def updates_of(order: OrderPublic) -> list[dict[str, Any]]:
    """The trade updates an order_update stands for, in Alpaca's words. A leg held until its entry fills is told
    of once it rests (`new`), as Alpaca tells it, not twice."""
    if order.status == "held":
        return []
    rendered = Order.of(order).model_dump(mode="json")
    event = _EVENT_BY_STATUS.get(order.status, order.status)
    base = {"execution_id": None, "order": rendered, "position_qty": None, "price": None, "qty": None}
    if event != "fill":
        return [{**base, "event": event, "timestamp": ts(order.updated_at)}]
    position_qty = await run_in_threadpool(_position_qty, order.account_id, order.symbol)
    fill = {
        **base,
        "event": "fill",
        "timestamp": ts(order.filled_at),
        "execution_id": str(uuid.uuid5(order.id, "fill")),
        "price": text(order.avg_fill_price),
        "qty": text(order.filled_quantity),
        "position_qty": position_qty,
    }
    if order.filled_at != order.created_at:
        return [fill]
    # Filled at placement: Sherwood announces it once; Alpaca's clients expect to hear the order was new first.
    accepted = {**rendered, "status": "new", "filled_at": None, "filled_qty": "0", "filled_avg_price": None}
    return [{**base, "event": "new", "order": accepted, "timestamp": ts(order.created_at)}, fill]


class TradeUpdates:
    """One client. The event hub calls `deliver` and `revoke` on the event loop; a task sends what arrives."""

    def __init__(self, websocket: WebSocket):
        self._ws = websocket
        self._rt = runtime.current()
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue(BACKLOG)
        self._listening = False
        self._authorized = False
        self._send_lock = asyncio.Lock()

    def deliver(self, message: bytes) -> None:
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.revoke()

    def revoke(self) -> None:
        """The key was deleted or the session ended (or the client owes too many updates): close."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(None)

    async def serve(self) -> None:
        sender = asyncio.create_task(self._send_updates())
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait([sender, reader], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait([sender, reader])
            self._rt.events.unregister(self)
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def _read(self) -> None:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                while not self._authorized:
                    if not await self._handle(await self._message()):
                        return
            while True:
                await self._handle(await self._message())
        except (WebSocketDisconnect, WebSocketDisconnected, TimeoutError):
            return

    async def _message(self) -> dict[str, Any]:
        while True:
            event = await self._ws.receive()
            if event["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(event.get("code", 1000))
            raw = event.get("text") if event.get("text") is not None else event.get("bytes")
            try:
                message = orjson.loads(raw or b"")
            except orjson.JSONDecodeError:
                message = None
            if isinstance(message, dict):
                return message
            await self._send({"stream": "error", "data": {"error_message": "invalid syntax"}})

    async def _handle(self, message: dict[str, Any]) -> bool:
        """Act on one client message; False when the connection must end."""
        action, data = message.get("action"), message.get("data")
        data = data if isinstance(data, dict) else {}
        if action == "authenticate":
            if await self._authenticate(data):
                await self._send(_authorization("authenticate", "authorized"))
                return True
            await self._send(_authorization("authenticate", "unauthorized"))
            return False
        if action == "listen":
            if not self._authorized:
                await self._send(_authorization("listen", "unauthorized"))
                return True
            streams = data.get("streams")
            self._listening = isinstance(streams, list) and STREAM in streams
            await self._send({"stream": "listening", "data": {"streams": [STREAM] if self._listening else []}})
            return True
        await self._send({"stream": "error", "data": {"error_message": f"invalid action: {action}"}})
        return True

    async def _authenticate(self, data: dict[str, Any]) -> bool:
        token, key_id, secret = (data.get(name) for name in ("oauth_token", "key_id", "secret_key"))
        if not all(isinstance(v, str | None) for v in (token, key_id, secret)):
            return False
        credentials = Credentials(token or None, key_id or None, secret or None)
        if credentials.token is None and not (credentials.key_id and credentials.secret):
            return False
        credential = auth.token_hash(credentials.token) if credentials.token else key_credential(credentials.key_id)
        self._rt.events.register(self, credential)  # a revocation racing the check still reaches us
        try:
            caller = await identify(credentials)
            account_id = caller.key.account_id if caller.key else await run_in_threadpool(_default_account, caller)
        except DomainError:
            self._rt.events.unregister(self)
            return False
        self._rt.events.register(self, credential, str(caller.user.id), str(account_id))
        self._authorized = True
        return True

    async def _send_updates(self) -> None:
        while True:
            message = await self._outbox.get()
            if message is None:
                return
            event = orjson.loads(message)
            if not self._listening or event.get("type") != "order_update":
                continue
            try:
                order = OrderPublic.model_validate(event["data"])
            except ValueError:
                log.warning("trade_updates: an order update it cannot read: %s", message[:200])
                continue
            for update in await updates_of(order):
                await self._send({"stream": STREAM, "data": update})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._ws.send_bytes(orjson.dumps(message))


def _default_account(caller) -> uuid.UUID:
    """A session acts on its user's default account here (a socket has no X-Account-Id)."""
    with session_scope(runtime.current().engine) as db:
        return accounts.owned(db, user_id=caller.user.id, account_id=None).id
