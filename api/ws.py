"""`/ws`: live quotes for anyone; order updates and alerts for the user a token authenticates, the order updates of
its account for an API key (see the contract).

Where the contract is silent: every `subscribe` is answered by a `quotes` message (empty when nothing is new),
followed by UNKNOWN_SYMBOL when some symbols are not listed; `unsubscribe` answers only errors. Frames over
16 KiB, more than 200 symbols or 50 messages a second (bursts of 100) are refused with an error and the
connection stays open; a client that keeps flooding is closed with 1008, and so is one whose send has waited
10 s (it stopped reading). Close codes: 4401 bad or logged-out token (or a bad or deleted key), 1008 policy, 1011
server failure.
A handshake from another site's page (its Origin) never gets here: api.origin refuses it with 403.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected

from api.deps import Credentials, identify
from api.ws_messages import PONG, Command, FloodGuard, ProtocolError, connected, error, parse
from services import runtime
from services.identity import auth
from services.infra.errors import DomainError
from services.infra.event_hub import EventHub, key_credential
from services.infra.tasks import cancel_and_wait
from services.market import symbols
from services.market.quote_hub import QuoteHub, wire_message

log = logging.getLogger(__name__)
router = APIRouter()

SEND_TIMEOUT = 10.0  # seconds one send may wait on a client that stopped reading before the client is dropped
EVENT_BACKLOG = 1000  # undelivered events a client may owe before it counts as stopped
CLOSE_INVALID_TOKEN = 4401
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011

INVALID_TOKEN = error("INVALID_TOKEN", "The token is invalid or has expired; please log in again.")
SESSION_ENDED = error("INVALID_TOKEN", "The session has ended; please log in again.")
INVALID_KEY = error("INVALID_TOKEN", "The API key id or secret is wrong, or the key has been deleted.")
KEY_DELETED = error("INVALID_TOKEN", "The API key has been deleted.")
FLOODED = error("RATE_LIMITED", "Too many messages; closing the connection.")


@router.websocket("/ws")
async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    connection = Connection(websocket, runtime.current().hub, runtime.current().events)
    await connection.serve(websocket.query_params.get("token"))


class Connection:
    """One client: three tasks read its commands, send its quote batches and send its user's events;
    whichever decides the connection is over settles `_ending`, and `serve` cleans up."""

    def __init__(self, websocket: WebSocket, quotes: QuoteHub, events: EventHub):
        self._ws = websocket
        self._events = events
        self._stream = quotes.open_stream()
        self._guard = FloodGuard()
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(EVENT_BACKLOG)
        # One sender at a time keeps messages in order: a `quotes` snapshot never lands after a newer batch.
        self._send_lock = asyncio.Lock()
        self._send_started: float | None = None  # loop time the send in progress began
        self._loop = asyncio.get_running_loop()
        # (close code or None when the client is already gone, last message to send before closing)
        self._ending: asyncio.Future[tuple[int | None, str | None]] = self._loop.create_future()
        self._revoked_words = SESSION_ENDED  # what the client is told when its session or key ends

    async def serve(self, token: str | None) -> None:
        tasks = [
            asyncio.create_task(self._guarded(self._read, token)),
            asyncio.create_task(self._guarded(self._send_quotes)),
            asyncio.create_task(self._guarded(self._send_events)),
        ]
        self._watch()
        try:
            code, last_words = await self._ending
        finally:
            self._watchdog.cancel()
            await cancel_and_wait(tasks)
            self._stream.close()
            self._events.unregister(self)
        if code is not None:
            with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, TimeoutError):
                async with asyncio.timeout(SEND_TIMEOUT):
                    if last_words:
                        await self._send(last_words)
                    await self._ws.close(code)

    # Called by the event hub, on the event loop.

    def deliver(self, message: bytes) -> None:
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self._end(CLOSE_POLICY_VIOLATION)

    def revoke(self) -> None:
        self._end(CLOSE_INVALID_TOKEN, self._revoked_words)

    # The three tasks.

    async def _read(self, token: str | None) -> None:
        authenticated = bool(token) and await self._authenticate(Credentials(token=token))
        await self._send(connected(authenticated))
        if token and not authenticated:
            self._end(CLOSE_INVALID_TOKEN, INVALID_TOKEN)
        while not self._ending.done():
            event = await self._ws.receive()
            if event["type"] == "websocket.disconnect":
                self._end(None)
            elif not self._guard.admit():
                if self._guard.exhausted:
                    self._end(CLOSE_POLICY_VIOLATION, FLOODED)
                else:
                    await self._send(error("RATE_LIMITED", "Too many messages; this one was ignored."))
            else:
                try:
                    await self._handle(parse(event))
                except ProtocolError as exc:
                    await self._send(exc.encode())

    async def _send_quotes(self) -> None:
        while True:
            batch = await self._stream.next_batch()
            await self._send(batch.decode())

    async def _send_events(self) -> None:
        while True:
            message = await self._outbox.get()
            await self._send(message.decode())

    async def _guarded(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await work(*args)
        except (WebSocketDisconnect, WebSocketDisconnected):  # the latter: another task saw the client go first
            self._end(None)
        except Exception:
            log.exception("WebSocket connection failed")
            self._end(CLOSE_INTERNAL_ERROR)

    # Commands.

    async def _handle(self, command: Command) -> None:
        match command.type:
            case "ping":
                await self._send(PONG)
            case "auth":
                credentials = Credentials(command.token or None, command.key_id or None, command.secret or None)
                if await self._authenticate(credentials):
                    await self._send(connected(True))
                else:
                    self._end(CLOSE_INVALID_TOKEN, INVALID_KEY if credentials.key_id else INVALID_TOKEN)
            case "subscribe":
                await self._subscribe(command.symbols)
            case "subscribe_all":
                await self._subscribe(listing.symbol for listing in symbols.listings())
            case "unsubscribe":
                listed, unknown = _split_listed(command.symbols)
                self._stream.unsubscribe(listed)
                _refuse_unknown(unknown)
            case "unsubscribe_all":
                self._stream.unsubscribe(list(self._stream.symbols))

    async def _subscribe(self, wanted: Iterable[str]) -> None:
        """Answer with the latest quote of each newly followed symbol, even when that is none."""
        listed, unknown = _split_listed(wanted)
        await self._send(wire_message("quotes", self._stream.subscribe(listed)).decode())
        _refuse_unknown(unknown)

    async def _authenticate(self, credentials: Credentials) -> bool:
        """Check a session token or an API key pair; from then on the connection hears the user's events (a key's:
        its account's order updates only) and closes when the session or key ends."""
        by_key = credentials.token is None
        credential = key_credential(credentials.key_id) if by_key else auth.token_hash(credentials.token)
        self._revoked_words = KEY_DELETED if by_key else SESSION_ENDED
        self._events.register(self, credential)  # a revocation racing the check below still reaches this connection
        try:
            caller = await identify(credentials)
        except DomainError:
            return False
        account = str(caller.key.account_id) if caller.key else None
        self._events.register(self, credential, str(caller.user.id), account)
        return True

    async def _send(self, text: str) -> None:
        async with self._send_lock:
            self._send_started = self._loop.time()
            await self._ws.send({"type": "websocket.send", "text": text})
            self._send_started = None

    def _watch(self) -> None:
        """Drop the client if a send has waited SEND_TIMEOUT; one timer per connection is far cheaper than a
        timeout around every send."""
        started = self._send_started
        if started is not None and self._loop.time() - started > SEND_TIMEOUT:
            self._end(CLOSE_POLICY_VIOLATION)
        else:
            self._watchdog = self._loop.call_later(SEND_TIMEOUT / 2, self._watch)

    def _end(self, code: int | None, last_words: str | None = None) -> None:
        if not self._ending.done():
            self._ending.set_result((code, last_words))


def _split_listed(wanted: Iterable[str]) -> tuple[list[str], list[str]]:
    listed, unknown = [], []
    for symbol in wanted:
        (listed if symbols.is_listed(symbol) else unknown).append(symbol)
    return listed, unknown


def _refuse_unknown(unknown: list[str]) -> None:
    """Unknown symbols fail the message after the listed ones in it were handled."""
    if unknown:
        raise ProtocolError("UNKNOWN_SYMBOL", f"Not listed: {', '.join(unknown[:10])}.", symbols=unknown)
