"""Browser-facing guards of a real app process: the Origin check on WebSocket handshakes (/ws and NiceGUI's
socket.io), security headers on pages and API answers, and the request body cap."""

from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.databases import REDIS_URL
from tests.support.server import running_app
from tests.support.ws import receive, ws_url

FRIEND = "https://friend.example"


@pytest.fixture(scope="module")
def app_url(postgres_url, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("guards") / "app.log"
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": "0", "ALLOWED_ORIGINS": FRIEND}
    with running_app(log, **env) as url:
        yield url


def socketio_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example", "https://friend.ex"]
)
async def test_a_handshake_from_another_sites_page_is_refused_before_accept(app_url, origin):
    for url in (ws_url(app_url), socketio_url(app_url)):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, origin=origin):
                pass
        assert refused.value.response.status_code == 403, url


async def test_handshakes_from_our_own_pages_allowed_origins_and_scripts_are_accepted(app_url):
    own = app_url  # what a browser on our page sends: scheme, host and port of the page
    for origin in (own, FRIEND, None):
        async with connect(ws_url(app_url), origin=origin) as ws:
            assert (await receive(ws))["type"] == "connected"
        async with connect(socketio_url(app_url), origin=origin) as sio:
            assert (await sio.recv()).startswith("0")  # engine.io's open packet


async def test_behind_a_proxy_the_forwarded_host_is_our_own_origin(app_url):
    proxied = {"X-Forwarded-Host": "sherwood.example"}  # what nginx adds; Host stays 127.0.0.1:port
    async with connect(ws_url(app_url), origin="https://sherwood.example", additional_headers=proxied) as ws:
        assert (await receive(ws))["type"] == "connected"
    with pytest.raises(InvalidStatus):
        async with connect(ws_url(app_url), origin="https://evil.example", additional_headers=proxied):
            pass


def test_socketio_polling_from_another_site_is_refused_in_the_error_shape(app_url):
    url = f"{app_url}/_nicegui_ws/socket.io/?EIO=4&transport=polling"
    refused = httpx.get(url, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert httpx.get(url, headers={"Origin": app_url}).status_code == 200


@pytest.mark.parametrize("path", ["/login", "/api/symbols", "/api/auth/me", "/api/no/such", "/static/favicon.svg"])
def test_pages_and_api_answers_carry_the_security_headers(app_url, path):
    headers = httpx.get(f"{app_url}{path}").headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy and "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_the_api_docs_may_load_their_own_scripts_and_nothing_else_may(app_url):
    docs = httpx.get(f"{app_url}/docs").headers["Content-Security-Policy"]
    assert "https://cdn.jsdelivr.net" in docs and "frame-ancestors 'none'" in docs
    assert "cdn.jsdelivr.net" not in httpx.get(f"{app_url}/login").headers["Content-Security-Policy"]


def test_a_body_over_64_kib_is_refused_in_the_error_shape(app_url):
    url = f"{app_url}/api/auth/login"
    big = b'{"email": "' + b"a" * (64 * 1024) + b'"}'
    declared = httpx.post(url, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert declared.headers["X-Content-Type-Options"] == "nosniff"

    def chunks():  # no Content-Length: the cap counts the bytes as they arrive
        for _ in range(20):
            yield b"x" * 8192

    streamed = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    under = httpx.post(url, content=b" " * 60_000 + b"{}", headers={"Content-Type": "application/json"})
    assert under.status_code == 400 and under.json()["error"]["code"] == "VALIDATION_ERROR"
