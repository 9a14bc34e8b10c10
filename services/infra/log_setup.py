"""Logging for the app process: one format, the configured level, and no secret in any line.

A token, an API key's secret, a password or a password hash can reach a log line through a URL (`/ws?token=...`,
in uvicorn's access and handshake lines), a frame or body a library dumps at DEBUG (uvicorn logs every WebSocket
frame, the `auth` message included), or an exception message; the filter on the handler rewrites every record on
its way out, whichever logger it came from.

The filter sees every line, uvicorn's access line for each HTTP request included, so it is kept cheap: a line in
which no pattern's literal part occurs (the vast majority) is passed over after one search instead of four
substitutions.
"""

import logging
import re

_SECRETS = (
    re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE),  # query strings
    re.compile(r"(\"(?:token|password|currentPassword|newPassword|secret)\"\s*:\s*\")[^\"]*", re.IGNORECASE),  # JSON
    re.compile(r"(apca-api-secret-key['\"]?\s*[:=,]\s*['\"]?)[^\s\"',]+", re.IGNORECASE),  # API key secrets
    re.compile(r"(bearer\s+)[^\s\"',]+", re.IGNORECASE),  # Authorization headers
    re.compile(r"(\$argon2\w*\$)[^\s\"']+"),  # password hashes
)
# A literal that every match of some pattern above contains, with the same case folding: a line without any of
# them cannot hold a secret the patterns would rewrite. Extend it with every new pattern.
_MARKERS = re.compile(r"token|password|bearer|\$argon2", re.IGNORECASE)
# Clients and protocol libraries whose DEBUG lines dump whole requests or frames: INFO is their floor.
_CHATTY = ("websockets", "python_multipart", "httpcore", "httpx", "engineio", "socketio")


def redact(text: str) -> str:
    if not _MARKERS.search(text):
        return text
    for pattern in _SECRETS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The format names no caller, thread or process: skip collecting them for every record (the logging HOWTO's
    # "Optimization" section; together about a sixth of an access line's cost here).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
