"""A simulated browser tab of a NiceGUI page: no JavaScript, only what a browser would send and receive.

Logging in needs a browser (the login page is a NiceGUI page), so the tab puts itself in the state the login page
leaves behind: it signs NiceGUI's `session` cookie itself, exactly as Starlette's SessionMiddleware does, and writes
that session's user-storage file with the bearer token before its first request (the server loads the file then).
It then loads the page over HTTP and connects to NiceGUI's socket.io endpoint with the query nicegui.js sends,
acknowledging messages every 3 s like nicegui.js. It counts `update` messages and notes each change of a watchlist
price label, for the latency measurement.
"""

import ast
import asyncio
import base64
import contextlib
import json
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
PRICE_TESTID = "watch-last-"  # the watchlist's last-price label of a symbol


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

    def __init__(self, base_url: str, storage_dir: Path, secret: str, token: str):
        self.base_url = base_url
        self.session_id = str(uuid.uuid4())
        self.files = storage_files(storage_dir, self.session_id)
        self.files[0].write_text(json.dumps({"token": token}))  # as the login page leaves it
        self._cookie = f"session={session_cookie(secret, self.session_id)}"
        self._sio = socketio.AsyncClient(reconnection=False)
        self._sio.on("*", self._on_message)
        self._sio.on("disconnect", self._on_disconnect)
        self._client_id = ""
        self._next_message_id = 0
        self._texts: dict[str, str] = {}  # element id -> last price text seen
        self._acker: asyncio.Task | None = None
        self.recording = False
        self.updates = 0
        self.update_bytes = 0
        self.price_changes: list[PriceChange] = []
        self.disconnect_reason: str | None = None  # set when the connection ended before close()
        self.disconnected_at: float | None = None  # time.monotonic() of that
        self.page_seconds: float | None = None  # how long the page took to load
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._sio.connected

    async def open(self, http: httpx.AsyncClient, path: str = "/") -> None:
        """Load the page; a redirect (to /login) means the storage file or the cookie was not accepted."""
        started = time.monotonic()
        response = await http.get(self.base_url + path, headers={"Cookie": self._cookie}, follow_redirects=False)
        if response.status_code != 200:
            raise PageError(path, response.status_code, response.headers.get("location", ""))
        self.page_seconds = time.monotonic() - started
        match = QUERY.search(response.text)
        if match is None:
            raise RuntimeError(f"GET {path}: no socket.io query in the page")
        query = ast.literal_eval(match.group(1))  # NiceGUI renders the query as a Python dict literal
        self._client_id, self._next_message_id = query["client_id"], int(query["next_message_id"])

    async def connect(self, timeout: float) -> None:
        """Connect as nicegui.js does: websocket transport, implicit handshake, fresh document and tab ids."""
        query = {
            "client_id": self._client_id,
            "next_message_id": self._next_message_id,
            "implicit_handshake": "true",
            "document_id": str(uuid.uuid4()),
            "tab_id": str(uuid.uuid4()),
            "old_tab_id": "null",
        }
        await self._sio.connect(
            f"{self.base_url}/?{urlencode(query)}",
            headers={"Cookie": self._cookie},
            transports=["websocket"],
            socketio_path=SOCKETIO_PATH,
            wait_timeout=timeout,
        )
        self._acker = asyncio.create_task(self._ack_forever())

    async def close(self, timeout: float = 5.0) -> None:
        self._closing = True  # our own disconnect is no loss worth reporting
        if self._acker is not None:
            self._acker.cancel()
            await asyncio.gather(self._acker, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                await self._sio.disconnect()

    def _on_disconnect(self, reason=None) -> None:
        if not self._closing:
            self.disconnect_reason, self.disconnected_at = str(reason), time.monotonic()

    async def _ack_forever(self) -> None:
        while self._sio.connected:
            await asyncio.sleep(ACK_SECONDS)
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await self._sio.emit("ack", {"client_id": self._client_id, "next_message_id": self._next_message_id})

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
            testid = (element.get("props") or {}).get("data-testid", "")
            if not testid.startswith(PRICE_TESTID):
                continue
            text, previous = element.get("text", ""), self._texts.get(element_id)
            self._texts[element_id] = text
            # Only real changes after the page has shown a first price: those are what a quote caused.
            if self.recording and previous is not None and text != previous:
                self.price_changes.append(PriceChange(testid.removeprefix(PRICE_TESTID), text, received_ms))
