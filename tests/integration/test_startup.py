"""Start-up: bad configuration stops the app with one clear sentence; a fresh app answers with live quotes; an
existing database upgrades in place."""

import subprocess
import sys
from contextlib import ExitStack
from decimal import Decimal

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from models.tables import metadata
from services.identity import auth
from services.infra import db
from services.infra.db import session_scope
from services.market import symbols
from settings import load_settings
from tests.support.api import wait_until
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.server import ROOT, app_env, started_app


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"}, "Cannot reach the database"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "mysql://root@127.0.0.1/x"}, "DATABASE_URL must be a postgresql:// or sqlite:// URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must be a redis://"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "Cannot reach Redis"),
        ({"PORT": "eighty"}, "PORT"),
        ({"MARKET_FEED": "nasdaq"}, "MARKET_FEED"),
        ({"STARTING_CASH": "-5"}, "STARTING_CASH"),
    ],
)
def test_bad_configuration_stops_with_one_sentence(env, phrase, tmp_path):
    env = app_env(**{"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env})
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert phrase in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("backend", ["postgres+redis", "sqlite"])
def test_a_fresh_app_answers_its_first_request_with_live_quotes_of_every_symbol(backend, tmp_path):
    with ExitStack() as stack:
        if backend == "sqlite":
            env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}"}
        else:
            env = {"DATABASE_URL": stack.enter_context(fresh_postgres("startup")), "REDIS_URL": REDIS_URL}
        env["MARKET_FEED"] = "simulator"
        app = stack.enter_context(started_app(tmp_path / "app.log", probe="/api/quotes", **env))

        first = app.first_answer.json()
        assert first["stale"] is False
        assert sorted(q["symbol"] for q in first["quotes"]) == sorted(x.symbol for x in symbols.listings())
        # The year of history fills in behind the quotes.
        wait_until(lambda: "backfilled a year of price history" in app.log(), "the backfill", timeout=60, every=0.2)
        year = httpx.get(f"{app.url}/api/quotes/AAPL/history", params={"range": "1Y"}, timeout=5).json()
        assert len(year["candles"]) > 250


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, postgres_url, tmp_path):
    url = postgres_url if request.param == "postgres" else f"sqlite:///{tmp_path / 'm.db'}"
    engine = db.make_engine(load_settings(database_url=url))
    db.migrate(engine)
    yield engine
    engine.dispose()


def test_migrations_build_exactly_the_models(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_migrating_again_keeps_the_data(engine):
    with session_scope(engine) as session:
        user = auth.register(
            session,
            email=random_email(),
            password=PASSWORD,
            display_name="Little John",
            starting_cash=Decimal("1234.56"),
        )
    db.migrate(engine)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT display_name FROM users WHERE email = :e"), {"e": user.email}).all()
    assert names == [("Little John",)]
