"""`/api/alerts` and the alert engine on PostgreSQL + Redis and the embedded default, and the `alert` message
reaching its owner's `/ws` connection of a real app process."""

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from models.alert import PriceAlert
from models.types import utcnow
from services.alerts import alerts
from services.infra.db import session_scope
from tests.support.api import error_code, publish, sign_up, wait_until
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import quote
from tests.support.server import running_app
from tests.support.ws import Tape, receive, receive_type, ws_url
from tests.support.ws import sign_up as sign_up_on


def trade(started, symbol: str, last: str) -> None:
    """Put a trade at `last` on the market, as the feed does, and wait until the hub has it."""
    price = Decimal(last)
    publish(started, symbol, str(price - Decimal("0.01")), str(price + Decimal("0.01")), last)


def create(api, headers, symbol: str, condition: str, price) -> dict:
    response = api.post("/api/alerts", json={"symbol": symbol, "condition": condition, "price": price}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["alert"]


def alert_list(api, headers) -> list[dict]:
    response = api.get("/api/alerts", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["alerts"]


def current(api, headers, alert_id: str) -> dict:
    return next(a for a in alert_list(api, headers) if a["id"] == alert_id)


def triggered(api, headers, alert_id: str) -> dict:
    """The alert once it has fired (bounded wait)."""
    return wait_until(
        lambda: (a := current(api, headers, alert_id))["status"] == "triggered" and a, f"alert {alert_id} to fire"
    )


class Inbox:
    """Stands in for a user's WebSocket connections in the event hub: collects the events they would be sent."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self._lock = threading.Lock()

    def deliver(self, message: bytes) -> None:
        with self._lock:
            self.messages.append(orjson.loads(message))

    def revoke(self) -> None:
        pass

    def alerts(self, alert_id: str) -> list[dict]:
        with self._lock:
            return [m["data"] for m in self.messages if m["type"] == "alert" and m["data"]["id"] == alert_id]


@pytest.fixture
def inbox(api, started) -> Iterator[tuple[dict[str, str], Inbox]]:
    """A signed-up user whose events are collected."""
    headers, user_id = sign_up(api)
    box = Inbox()
    api.portal.call(started.events.register, box, f"test-{user_id}", user_id)
    yield headers, box
    api.portal.call(started.events.unregister, box)


# The REST API


def test_an_alert_is_created_listed_and_deleted(api):
    headers, _ = sign_up(api)
    alert = create(api, headers, "cat", "above", 530.5)
    assert alert.keys() == {"id", "symbol", "condition", "price", "status", "createdAt", "triggeredAt"}
    assert (alert["symbol"], alert["condition"], alert["status"]) == ("CAT", "above", "active")
    assert alert["price"] == "530.50"  # on the tick grid, as a decimal string
    assert alert["triggeredAt"] is None and datetime.fromisoformat(alert["createdAt"]).utcoffset() is not None
    cheap = create(api, headers, "SNAP", "below", "0.1234")
    assert cheap["price"] == "0.1234"
    assert [a["id"] for a in alert_list(api, headers)] == [cheap["id"], alert["id"]]  # newest first

    response = api.delete(f"/api/alerts/{alert['id']}", headers=headers)
    assert response.status_code == 200 and response.json() == {"alert": alert}
    assert [a["id"] for a in alert_list(api, headers)] == [cheap["id"]]
    assert error_code(api.delete(f"/api/alerts/{alert['id']}", headers=headers), 404) == "ALERT_NOT_FOUND"


BAD_ALERTS = [
    ({"condition": "sideways"}, "condition"),
    ({"price": "0"}, "price"),
    ({"price": "-5"}, "price"),
    ({"price": "10.001"}, "price"),  # off the cent grid
    ({"price": "0.12345"}, "price"),  # off the 4-place grid below $1
    ({"price": "NaN"}, "price"),
    ({"price": "cheap"}, "price"),
    ({"price": None}, "price"),
    ({"symbol": ""}, "symbol"),
    ({"note": "x"}, "note"),
]


def test_a_bad_or_unlisted_alert_is_refused(api):
    headers, _ = sign_up(api)
    for change, field in BAD_ALERTS:
        body = {"symbol": "CAT", "condition": "above", "price": "10", **change}
        response = api.post("/api/alerts", json=body, headers=headers)
        assert error_code(response, 400) == "VALIDATION_ERROR", body
        assert field in {d["field"] for d in response.json()["error"]["details"]}, body
    response = api.post("/api/alerts", json={"symbol": "nope", "condition": "above", "price": 1}, headers=headers)
    assert error_code(response, 400) == "UNKNOWN_SYMBOL"
    assert response.json()["error"]["details"] == {"symbols": ["NOPE"]}
    assert alert_list(api, headers) == []


def test_another_users_alert_or_a_malformed_id_is_not_found(api):
    owner, _ = sign_up(api)
    stranger, _ = sign_up(api)
    alert = create(api, owner, "CAT", "above", "900")
    for alert_id in (alert["id"], "not-an-id", str(uuid.uuid4())):
        assert error_code(api.delete(f"/api/alerts/{alert_id}", headers=stranger), 404) == "ALERT_NOT_FOUND"
    assert alert_list(api, stranger) == []
    assert current(api, owner, alert["id"])["status"] == "active"


def test_active_alerts_have_a_cap(api, monkeypatch):
    monkeypatch.setattr(alerts, "MAX_ACTIVE", 2)
    headers, _ = sign_up(api)
    first = create(api, headers, "CAT", "above", "900")
    create(api, headers, "CAT", "above", "901")
    body = {"symbol": "CAT", "condition": "above", "price": "902"}
    assert error_code(api.post("/api/alerts", json=body, headers=headers), 400) == "VALIDATION_ERROR"
    api.delete(f"/api/alerts/{first['id']}", headers=headers)
    create(api, headers, "CAT", "above", "902")


def test_the_list_shows_every_active_alert_and_only_the_newest_fired_ones(api, started, monkeypatch):
    monkeypatch.setattr(alerts, "MAX_FIRED_LISTED", 1)
    headers, _ = sign_up(api)
    trade(started, "SO", "70.00")
    older = triggered(api, headers, create(api, headers, "SO", "below", "71.00")["id"])  # fires at once
    newer = triggered(api, headers, create(api, headers, "SO", "below", "72.00")["id"])
    waiting = create(api, headers, "SO", "above", "999.00")
    assert [a["id"] for a in alert_list(api, headers)] == [waiting["id"], newer["id"]]
    assert older["id"] not in str(alert_list(api, headers))


@pytest.mark.parametrize(("method", "path"), [("get", ""), ("post", ""), ("delete", f"/{uuid.uuid4()}")])
def test_alerts_need_a_login(api, method, path):
    body = {"json": {"symbol": "CAT", "condition": "above", "price": "1"}} if method == "post" else {}
    assert error_code(getattr(api, method)(f"/api/alerts{path}", **body), 401) == "UNAUTHORIZED"


# Firing


def test_an_alert_fires_once_when_the_last_price_crosses_its_level(api, started, inbox):
    headers, box = inbox
    trade(started, "HON", "200.00")
    above = create(api, headers, "HON", "above", "201.00")
    below = create(api, headers, "HON", "below", "190.00")
    trade(started, "HON", "200.99")
    trade(started, "HON", "201.00")

    fired = triggered(api, headers, above["id"])
    assert fired["triggeredAt"] is not None and fired["price"] == "201.00"
    wait_until(lambda: box.alerts(above["id"]) == [fired], "the alert event")
    assert current(api, headers, below["id"])["status"] == "active"

    # A second crossing does not fire it again; a control alert shows the engine has seen that crossing.
    control = create(api, headers, "HON", "above", "201.50")
    trade(started, "HON", "199.00")
    trade(started, "HON", "202.00")
    wait_until(lambda: box.alerts(control["id"]), "the control alert to fire")
    assert box.alerts(above["id"]) == [fired]
    assert current(api, headers, above["id"]) == fired
    assert current(api, headers, below["id"])["status"] == "active"


def test_an_alert_already_past_its_level_fires_at_once(api, started, inbox):
    headers, box = inbox
    trade(started, "LMT", "460.00")
    at_level = create(api, headers, "LMT", "below", "460.00")  # at the level counts as reached
    fired = triggered(api, headers, at_level["id"])
    wait_until(lambda: box.alerts(at_level["id"]) == [fired], "the alert event")


def test_a_deleted_alert_does_not_fire(api, started, inbox):
    headers, box = inbox
    trade(started, "UPS", "95.00")
    doomed = create(api, headers, "UPS", "above", "96.00")
    control = create(api, headers, "UPS", "above", "95.50")
    api.delete(f"/api/alerts/{doomed['id']}", headers=headers)
    trade(started, "UPS", "97.00")
    wait_until(lambda: box.alerts(control["id"]), "the control alert to fire")
    assert box.alerts(doomed["id"]) == []


def test_racing_triggers_fire_an_alert_exactly_once(api, started):
    headers, _ = sign_up(api)
    alert_id = uuid.UUID(create(api, headers, "DE", "above", "100000")["id"])  # far away: the engine leaves it
    barrier = threading.Barrier(4)

    def attempt(_):
        with session_scope(started.engine) as db:
            barrier.wait()
            return alerts.trigger(db, started.bus, alert_id=alert_id, now=utcnow())

    with ThreadPoolExecutor(4) as pool:
        results = [r for r in pool.map(attempt, range(4)) if r is not None]
    assert len(results) == 1 and results[0].status == "triggered"
    with session_scope(started.engine) as db:
        assert db.get(PriceAlert, alert_id).triggered_at == results[0].triggered_at


# The `alert` message on /ws, end to end through a real app process


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[tuple[str, str]]:
    with fresh_postgres("alerts") as database_url:
        log = tmp_path_factory.mktemp("alerts") / "app.log"
        with running_app(log, DATABASE_URL=database_url, REDIS_URL=REDIS_URL) as url:
            yield url, database_url


@pytest.fixture
async def tape(app) -> AsyncIterator[Tape]:
    tape = Tape(app[1])
    yield tape
    await tape.close()


async def test_a_fired_alert_reaches_its_owners_socket(app, tape):
    url, _ = app
    _, token = sign_up_on(url)
    _, other_token = sign_up_on(url)
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(ws_url(url, token)) as ws, connect(ws_url(url, other_token)) as other:
        assert (await receive(ws))["authenticated"] and (await receive(other))["authenticated"]
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            body = {"symbol": "AEP", "condition": "above", "price": "121.00"}
            alert = (await client.post("/api/alerts", json=body)).json()["alert"]
            await tape.publish(quote("AEP", "121.25"))
            message = await receive_type(ws, "alert")
            assert message["data"] == (await client.get("/api/alerts")).json()["alerts"][0]
        assert (message["data"]["id"], message["data"]["status"]) == (alert["id"], "triggered")
        await other.send('{"type":"ping"}')
        assert await receive(other) == {"type": "pong"}  # the other user heard nothing of it
