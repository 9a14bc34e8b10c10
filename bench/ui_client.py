"""A simulated browser tab of a NiceGUI page: no JavaScript, only what a browser would send and receive.

Logging in needs a browser (the login page is a NiceGUI page), so the tab puts itself in the state the login page
leaves behind: it signs NiceGUI's `session` cookie itself, exactly as Starlette's SessionMiddleware does, and writes
that session's user-storage file with the bearer token before its first request (the server loads the file then).
It then loads the page over HTTP and connects to NiceGUI's socket.io endpoint with the query nicegui.js sends,
acknowledging messages every 3 s like nicegui.js. When the connection drops it does what nicegui.js does: reconnect
with the same client id (the server resumes the page if it still holds it) or else reload the page.
It counts `update` messages and notes each change of a last price in the watchlist, for the latency measurement.
"""

import ast
import asyncio
import base64
import contextlib
import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import itsdangerous
import orjson
import socketio

SOCKETIO_PATH = "/_nicegui_ws/socket.io"
ACK_SECONDS = 3.0  # nicegui.js acknowledges every 3 s, which lets the server prune its replay history
QUERY = re.compile(r"^\s*query: (\{.*\}),$", re.MULTILINE)  # `createApp(..., {query: {...}})` in the page
BOARD_TESTID = "watch-rows"  # the watchlist's live rows (components/quote_board.py): "symbol\tlast\tbid\t..."
RECONNECT_DELAY = 1.0  # socket.io-client's first reconnection delay (randomised by half)
RECOVERY_ATTEMPTS = 5


def session_cookie(secret: str, session_id: str) -> str:
    """NiceGUI's `session` cookie holding this id, signed the way Starlette's SessionMiddleware signs it."""
    payload = base64.b64encode(json.dumps({"id": session_id}).encode())
    return itsdangerous.TimestampSigner(secret).sign(payload).decode()


def storage_files(storage_dir: Path, session_id: str) -> list[Path]:
    """NiceGUI's FilePersistentDict of `app.storage.user` for this session, and its temporary twin."""
    path = storage_dir / f"storage-user-{session_id}.json"
    return [path, path.with_name(path.name + ".tmp")]


class PageError(RuntimeError):
    def __init__(self, path: str, status: int, location: str):
        super().__init__(f"GET {path} answered {status} {location}".rstrip())
        self.status = status


@dataclass(frozen=True, slots=True)
class PriceChange:
    symbol: str
    text: str
    received_ms: float  # Unix ms, same clock as the feed's quote timestamps (same machine)


class Tab:
    """One logged-in browser tab on one page."""

    def __init__(self, base_url: str, storage_dir: Path, secret: str, token: str, *, connect_timeout: float = 15.0):
        self.base_url = base_url
        self.session_id = str(uuid.uuid4())
        self.files = storage_files(storage_dir, self.session_id)
        self.files[0].write_text(json.dumps({"token": token}))  # as the login page leaves it
        self._cookie = f"session={session_cookie(secret, self.session_id)}"
        self._connect_timeout = connect_timeout
        self._http: httpx.AsyncClient | None = None
        self._sio: socketio.AsyncClient | None = None
        self._client_id = ""
        self._next_message_id = 0
        self._tab_id = str(uuid.uuid4())  # sessionStorage's: it survives reconnects and reloads
        self._texts: dict[tuple[str, str], str] = {}  # (element id, symbol) -> last price text seen
        self._tasks: set[asyncio.Task] = set()  # acknowledging and recovering
        self._refused = ""  # the server's last connect_error message
        self._closing = False
        self.recording = False
        self.updates = 0
        self.update_bytes = 0
        self.price_changes: list[PriceChange] = []
        self.page_seconds: float | None = None  # how long the first page load took
        self.failed_loads: list[int] = []  # HTTP status of each failed page load
        self.losses: list[str] = []  # why each connection ended before close()
        self.reconnects = 0  # resumed on the same page
        self.reloads = 0  # the server had dropped the page: loaded anew

    @property
    def connected(self) -> bool:
        return self._sio is not None and self._sio.connected

    async def start(self, http: httpx.AsyncClient, attempts: int) -> None:
        """Load the page (reloading after a failed load, as a person would) and connect."""
        self._http = http
        for attempt in range(attempts):
            try:
                started = time.monotonic()
                await self._load()
                self.page_seconds = time.monotonic() - started
                break
            except PageError as exc:
                self.failed_loads.append(exc.status)
                if attempt == attempts - 1:
                    raise
        await self._connect()

    async def close(self, timeout: float = 5.0) -> None:
        self._closing = True  # our own disconnect is no loss worth reporting
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sio is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout):
                    await self._sio.disconnect()

    async def _load(self, path: str = "/") -> None:
        """GET the page; a redirect (to /login) means the storage file or the cookie was not accepted."""
        assert self._http is not None
        response = await self._http.get(self.base_url + path, headers={"Cookie": self._cookie}, follow_redirects=False)
        if response.status_code != 200:
            raise PageError(path, response.status_code, response.headers.get("location", ""))
        match = QUERY.search(response.text)
        if match is None:
            raise RuntimeError(f"GET {path}: no socket.io query in the page")
        query = ast.literal_eval(match.group(1))  # NiceGUI renders the query as a Python dict literal
        self._client_id, self._next_message_id = query["client_id"], int(query["next_message_id"])
        self._document_id = str(uuid.uuid4())  # one per page load, like window.documentId

    async def _connect(self) -> None:
        """Connect as nicegui.js does: websocket transport, implicit handshake in the query."""
        query = {
            "client_id": self._client_id,
            "next_message_id": self._next_message_id,
            "implicit_handshake": "true",
            "document_id": self._document_id,
            "tab_id": self._tab_id,
            "old_tab_id": "null",
        }
        self._sio = socketio.AsyncClient(reconnection=False)  # recovery is ours, to follow nicegui.js
        self._sio.on("*", self._on_message)
        self._sio.on("disconnect", self._on_disconnect)
        self._sio.on("connect_error", self._on_refused)
        await self._sio.connect(
            f"{self.base_url}/?{urlencode(query)}",
            headers={"Cookie": self._cookie},
            transports=["websocket"],
            socketio_path=SOCKETIO_PATH,
            wait_timeout=self._connect_timeout,
        )
        self._spawn(self._ack_forever(self._sio))

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_refused(self, data=None) -> None:
        self._refused = str(data.get("message", data) if isinstance(data, dict) else data)

    def _on_disconnect(self, reason=None) -> None:
        if not self._closing:
            self.losses.append(str(reason))
            self._spawn(self._recover())

    async def _recover(self) -> None:
        """Reconnect to the same page; reload it when the server refuses the handshake (it dropped the page)."""
        for attempt in range(RECOVERY_ATTEMPTS):
            await asyncio.sleep(RECONNECT_DELAY * (attempt + 1) * random.uniform(0.5, 1.5))
            self._refused = ""
            try:
                await self._connect()
                self.reconnects += 1
                return
            except socketio.exceptions.ConnectionError:
                if "handshake" not in self._refused.lower():
                    continue  # the server is unreachable or slow: try again later
            with contextlib.suppress(PageError, httpx.HTTPError, socketio.exceptions.ConnectionError):
                await self._load()
                self._texts.clear()  # a new page: its first prices come with the HTML
                await self._connect()
                self.reloads += 1
                return

    async def _ack_forever(self, sio: socketio.AsyncClient) -> None:
        while sio.connected:
            await asyncio.sleep(ACK_SECONDS)
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await sio.emit("ack", {"client_id": self._client_id, "next_message_id": self._next_message_id})

    async def _on_message(self, event: str, data=None) -> None:
        received_ms = time.time() * 1000
        if isinstance(data, dict) and isinstance(data.get("_id"), int):
            self._next_message_id = max(self._next_message_id, data["_id"] + 1)
        if event != "update" or not isinstance(data, dict):
            return
        if self.recording:
            self.updates += 1
            self.update_bytes += len(orjson.dumps(data))
        self._note_prices(data, received_ms)

    def _note_prices(self, elements: dict, received_ms: float) -> None:
        for element_id, element in elements.items():
            if not isinstance(element, dict):
                continue  # `_id`, or a deleted element (None)
            props = element.get("props") or {}
            if props.get("data-testid") != BOARD_TESTID:
                continue
            for row in props.get("rows") or []:
                symbol, text, *_ = row.split("\t")
                key = (element_id, symbol)
                previous = self._texts.get(key)
                self._texts[key] = text
                # Only real changes after the page has shown a first price: those are what a quote caused.
                if self.recording and previous is not None and text != previous:
                    self.price_changes.append(PriceChange(symbol, text, received_ms))
