"""The `/ws` protocol's parsing and its per-client rate limit."""

import orjson
import pytest

from api.ws_messages import BURST, MAX_REJECTED, RATE, Command, FloodGuard, ProtocolError, parse


def text(message) -> dict:
    return {"type": "websocket.receive", "text": orjson.dumps(message).decode()}


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ({"type": "ping"}, Command("ping")),
        ({"type": "subscribe_all", "extra": 1}, Command("subscribe_all")),
        ({"type": "subscribe", "symbols": [" aapl", "AAPL", "msft"]}, Command("subscribe", symbols=("AAPL", "MSFT"))),
        ({"type": "unsubscribe", "symbols": []}, Command("unsubscribe")),
        ({"type": "auth", "token": "t0ken"}, Command("auth", token="t0ken")),
        ({"type": "auth", "keyId": "PK1", "secret": "s3cret"}, Command("auth", key_id="PK1", secret="s3cret")),
    ],
)
def test_commands_are_parsed_and_symbols_normalized(message, command):
    assert parse(text(message)) == command


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"type": "websocket.receive", "bytes": b'{"type":"ping"}'}, "INVALID_MESSAGE"),
        ({"type": "websocket.receive", "text": "{"}, "INVALID_MESSAGE"),
        (text("ping"), "INVALID_MESSAGE"),
        (text({"type": None}), "INVALID_MESSAGE"),
        (text({"type": "subscribe", "symbols": ["A", None]}), "INVALID_MESSAGE"),
        (text({"type": "subscribe", "symbols": ["A"] * 201}), "INVALID_MESSAGE"),
        (text({"type": "auth", "token": ""}), "INVALID_MESSAGE"),
        (text({"type": "auth", "token": 5}), "INVALID_MESSAGE"),
        (text({"type": "auth", "keyId": "PK1"}), "INVALID_MESSAGE"),
        (text({"type": "auth", "keyId": "PK1", "secret": ""}), "INVALID_MESSAGE"),
        (text({"type": "auth", "keyId": 1, "secret": "s3cret"}), "INVALID_MESSAGE"),
        (text({"type": "sell"}), "UNKNOWN_TYPE"),
        ({"type": "websocket.receive", "text": "é" * 8193}, "MESSAGE_TOO_LARGE"),  # 8193 characters, 16386 bytes
    ],
)
def test_bad_messages_are_refused_with_their_code(event, code):
    with pytest.raises(ProtocolError) as refused:
        parse(event)
    assert refused.value.code == code
    assert orjson.loads(refused.value.encode())["code"] == code


def test_200_symbols_and_16_kib_are_still_fine():
    assert len(parse(text({"type": "subscribe", "symbols": [f"S{i}" for i in range(200)]})).symbols) == 200
    padded = {"type": "ping", "pad": "x" * (16 * 1024 - 24)}
    assert len(orjson.dumps(padded)) == 16 * 1024
    assert parse(text(padded)) == Command("ping")


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_the_flood_guard_allows_a_burst_then_the_sustained_rate():
    clock = Clock()
    guard = FloodGuard(clock=clock)
    assert all(guard.admit() for _ in range(BURST))
    assert not guard.admit()
    clock.now += 1.0
    assert sum(guard.admit() for _ in range(2 * int(RATE))) == RATE


def test_the_flood_guard_runs_out_of_patience_only_with_a_client_that_never_calms_down():
    clock = Clock()
    guard = FloodGuard(clock=clock)
    for _ in range(BURST + MAX_REJECTED - 1):
        guard.admit()
    assert not guard.exhausted
    clock.now += BURST / RATE  # quiet long enough to refill the bucket: forgiven
    guard.admit()
    assert guard.rejected == 0
    for _ in range(BURST + MAX_REJECTED):
        guard.admit()
    assert guard.exhausted
