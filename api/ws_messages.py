"""The `/ws` protocol's messages: client frames parsed and checked, server messages built, the per-client rate limit.

Pure and I/O-free, so every malformed input has a unit test; `api/ws.py` drives the connection.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from services.market import symbols

MAX_MESSAGE_BYTES = 16 * 1024
MAX_SYMBOLS = 200  # per subscribe / unsubscribe message
RATE = 50.0  # messages a second, sustained
BURST = 100
MAX_REJECTED = 1000  # rate-limited messages, without a pause that refills the bucket, before the connection is closed
COMMANDS = frozenset({"auth", "subscribe", "unsubscribe", "subscribe_all", "unsubscribe_all", "ping"})

PONG = '{"type":"pong"}'


class ProtocolError(Exception):
    """A client message the server refuses: answered with an `error` message, the connection stays open."""

    def __init__(self, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def encode(self) -> str:
        return error(self.code, self.message, **self.extra)


@dataclass(frozen=True, slots=True)
class Command:
    type: str
    symbols: tuple[str, ...] = ()  # normalized, de-duplicated
    token: str = ""
    key_id: str = ""  # an API key pair, the other way to authenticate
    secret: str = ""


def parse(event: dict[str, Any]) -> Command:
    """The command in one ASGI `websocket.receive` event; raises ProtocolError."""
    text = event.get("text")
    if text is None:
        raise ProtocolError("INVALID_MESSAGE", "Send JSON objects in text frames.")
    if len(text) > MAX_MESSAGE_BYTES // 4 and len(text.encode()) > MAX_MESSAGE_BYTES:
        raise ProtocolError("MESSAGE_TOO_LARGE", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("INVALID_MESSAGE", "The message is not valid JSON.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("INVALID_MESSAGE", 'A message is a JSON object with a string "type".')
    kind = message["type"]
    if kind not in COMMANDS:
        raise ProtocolError("UNKNOWN_TYPE", f"Unknown message type {kind[:40]!r}.")
    if kind in ("subscribe", "unsubscribe"):
        return Command(kind, symbols=_symbols(message.get("symbols")))
    if kind == "auth":
        return _auth(message)
    return Command(kind)


def _auth(message: dict[str, Any]) -> Command:
    token, key_id, secret = (message.get(name) for name in ("token", "keyId", "secret"))
    if isinstance(token, str) and token:
        return Command("auth", token=token)
    if isinstance(key_id, str) and key_id and isinstance(secret, str) and secret:
        return Command("auth", key_id=key_id, secret=secret)
    raise ProtocolError("INVALID_MESSAGE", '"auth" needs a non-empty string "token", or "keyId" and "secret".')


def _symbols(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ProtocolError("INVALID_MESSAGE", '"symbols" must be a list of strings.')
    if len(value) > MAX_SYMBOLS:
        raise ProtocolError("INVALID_MESSAGE", f"At most {MAX_SYMBOLS} symbols per message.")
    return tuple(dict.fromkeys(symbols.normalize(s) for s in value))


def error(code: str, message: str, **extra: Any) -> str:
    return orjson.dumps({"type": "error", "code": code, "message": message, **extra}).decode()


def connected(authenticated: bool) -> str:
    return orjson.dumps({"type": "connected", "authenticated": authenticated}).decode()


class FloodGuard:
    """A token bucket over one client's messages; a client that keeps flooding runs out of patience."""

    def __init__(self, rate: float = RATE, burst: int = BURST, *, clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = self._burst
        self._last = clock()
        self.rejected = 0  # forgiven once the client calms down long enough to refill the bucket

    def admit(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens == self._burst:
            self.rejected = 0
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.rejected += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.rejected >= MAX_REJECTED
