"""How uvicorn serves `/ws`: hard limits, keep-alive pings, and hanging up on clients that stopped reading."""

from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, except that it hangs up at once on a client that stopped reading.

    uvicorn waits for the write buffer to drain before it sends anything, the close frame included, and
    closes a socket only once its buffer is flushed; a client that never reads again would keep its
    socket, buffers and task forever.
    """

    async def send(self, message: Any) -> None:
        if self.close_sent and self.handshake_complete and self.initial_response is None:
            # uvicorn closed it itself (frame over the hard cap, keep-alive timeout) and would answer a send or
            # a close with a bare RuntimeError; the handler expects, and handles quietly, a disconnect.
            if message["type"] == "websocket.close":
                return
            raise ClientDisconnected()
        if message["type"] == "websocket.close" and self.handshake_complete and not self.writable.is_set():
            self.transport.abort()
        await super().send(message)

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self.transport.abort()


UVICORN_OPTIONS: dict[str, Any] = {
    "ws": WebSocketProtocol,
    "ws_max_size": 1024 * 1024,  # the hard cap; the handler answers MESSAGE_TOO_LARGE from 16 KiB up
    "ws_ping_interval": 30.0,  # protocol-level pings: a client that stops answering is dropped
    "ws_ping_timeout": 30.0,
    # Deflating every quote batch tripled the CPU per message in bench/ws_bench.py; CPU is what runs out first.
    "ws_per_message_deflate": False,
}
