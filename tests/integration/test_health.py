"""`/api/health`: public, names the instance and its leader roles, and answers 503 without a database."""

import dataclasses

from fastapi.testclient import TestClient

from app import create_app
from services import runtime
from services.infra import db
from settings import load_settings

KNOWN_ROLES = {"market_feed", "execution_engine", "alert_engine", "league_clock"}


def test_health_is_public_and_reports_the_backends(api, backend_settings):
    response = api.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if backend_settings.redis_url else "not_configured")
    assert body["status"] == "ok"
    assert body["instance"] == backend_settings.instance()
    assert set(body["roles"]) <= KNOWN_ROLES


def test_health_answers_503_in_the_error_shape_while_the_database_is_unreachable(started):
    unreachable = load_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/nowhere")
    broken = dataclasses.replace(started, engine=db.make_engine(unreachable), roles=set())
    runtime.install(broken)
    try:
        response = TestClient(create_app(broken, with_ui=False)).get("/api/health")  # no lifespan: no engines
    finally:
        runtime.install(started)
        broken.engine.dispose()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["details"]["database"] == "unreachable"
    assert error["details"]["status"] == "unavailable"
