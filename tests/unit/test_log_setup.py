"""The log filter rewrites every secret it can recognise, whatever logger or format carried it."""

import logging
import sys

import pytest

from services.infra.log_setup import RedactSecrets, redact

TOKEN = "wYGyJPVSRUgdu86wuqSIjmkmBKUP1yc8WvE_nnP2a3Q"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1:1 - "WebSocket /ws?token={TOKEN}" [accepted]',
        f"< GET /ws?symbols=AAPL&token={TOKEN} HTTP/1.1",
        f'< TEXT \'{{"type":"auth","token":"{TOKEN}"}}\' [69 bytes]',
        f'< TEXT \'{{"type":"auth", "token": "{TOKEN[:20]}...{TOKEN[30:]}"}}\' [300 bytes]',  # a truncated dump
        f"headers: {{'authorization': 'Bearer {TOKEN}'}}",
        f"AUTHORIZATION: BEARER {TOKEN}",  # the quick check before the patterns folds case as they do
        f"GET /ws?Token={TOKEN}",
        f'body: {{"email": "a@b.c", "password": "{TOKEN}"}}',
        f'body: {{"currentPassword": "{TOKEN}", "newPassword": "{TOKEN}"}}',
        f"stored {HASH} for user",
    ],
)
def test_secrets_are_redacted(line):
    cleaned = redact(line)
    assert TOKEN[:20] not in cleaned and TOKEN[30:] not in cleaned and HASH[20:] not in cleaned
    assert "[redacted]" in cleaned


def test_the_filter_rewrites_arguments_and_tracebacks():
    try:
        raise ValueError(f"bad token={TOKEN}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s", (f"/ws?token={TOKEN}",), True)
        record.exc_info = sys.exc_info()
    RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and text.startswith("GET /ws?token=[redacted]\n")
    assert text.endswith("ValueError: bad token=[redacted]")


def test_ordinary_lines_are_left_alone():
    line = '127.0.0.1:1 - "GET /api/orders?limit=50 HTTP/1.1" 200'
    assert redact(line) == line
