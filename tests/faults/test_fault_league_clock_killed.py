"""Fault: the instance running the league clock killed with SIGKILL while it settles a league at its end, with a
second instance taking the clock over."""

import signal
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import text

from models.candle import MINUTE
from models.market import Candle
from services.infra import db
from services.market import history
from services.trading.reconcile import reconcile
from settings import load_settings
from tests.faults.trading import assert_no_unhandled_errors, roles, wait_for
from tests.support.databases import fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.leagues import in_
from tests.support.private_servers import Ticker, private_redis
from tests.support.server import started_app

MEMBERS = 30
SETTLEMENT_PRICE = Decimal("110.00")
_SETTLEMENTS = text(
    "SELECT l.account_id, l.amount FROM cash_ledger l JOIN accounts a ON a.id = l.account_id"
    " WHERE a.league_id = :league AND l.kind = 'settlement'"
)


def test_a_clock_killed_mid_settlement_neither_skips_nor_doubles_it(tmp_path):
    """Injected: instance A holds the league clock; 30 members of a league each bought 10 AAPL and rest a limit
    sell; the league ends, and A is killed with SIGKILL as soon as it has settled the first account, while it
    works through the rest. Instance B takes the clock over when A's lease runs out.

    Checked: the kill caught A part way; every account ends with exactly one settlement, at the close of the last
    minute candle before the end, no shares and no resting order; every account holds the same cash; the standings
    B serves are final, every member ranked first with that cash; the ledger reconciles; B's log shows no unhandled
    error."""
    with fresh_postgres("clockkill") as database_url, private_redis() as cache:
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "ORDER_RATE_LIMIT": "0", "API_RATE_LIMIT": "0"}
        engine = db.make_engine(load_settings(database_url=database_url))
        try:
            with Ticker(cache.url, database_url, {"AAPL": "100.00"}), started_app(tmp_path / "a.log", **env) as a:
                wait_for(lambda: "league_clock" in roles(a.url), "A to hold the league clock")
                with started_app(tmp_path / "b.log", **env) as b, httpx.Client(base_url=b.url, timeout=30) as api:
                    owner = _signed_up(api)
                    league = api.post(
                        "/api/leagues",
                        json={"name": "Econ 101", "startsAt": in_(0), "endsAt": in_(86400), "startingCash": "10000"},
                        headers=owner,
                    ).json()["league"]
                    members = [_member(api, league["inviteCode"]) for _ in range(MEMBERS)]
                    ends_at = _end_soon(engine, league["id"])

                    wait_for(lambda: _settled(engine, league["id"]), "A's first settlement", timeout=30, step=0.005)
                    a.process.send_signal(signal.SIGKILL)
                    a.process.wait(timeout=10)
                    settled_at_kill = len(_settled(engine, league["id"]))
                    assert settled_at_kill < MEMBERS, "A settled every account before it was killed"

                    board = lambda: api.get(f"/api/leagues/{league['id']}/leaderboard", headers=owner).json()  # noqa: E731
                    wait_for(lambda: board()["final"], "B to finish the settlement", timeout=60, step=0.25)
                    final = board()
                    assert_no_unhandled_errors(b.log())

                    states = [api.get("/api/portfolio", headers=headers).json() for headers in members]
                    orders = [api.get("/api/orders?status=pending", headers=headers).json() for headers in members]
            assert datetime.now(UTC) > ends_at
            settlements = _settled(engine, league["id"])
            assert sorted(settlements.values()) == [[SETTLEMENT_PRICE * 10]] * MEMBERS
            assert all(state["positions"] == [] for state in states)
            assert all(listed["orders"] == [] for listed in orders)
            cash = {state["cash"] for state in states}
            assert len(cash) == 1
            assert [(s["rank"], s["equity"]) for s in final["standings"]] == [(1, cash.pop())] * MEMBERS
            with db.session_scope(engine) as session:
                assert reconcile(session) == []
        finally:
            engine.dispose()


def _signed_up(api: httpx.Client) -> dict[str, str]:
    email = random_email()
    api.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _member(api: httpx.Client, invite_code: str) -> dict[str, str]:
    """A member who bought 10 AAPL in their league account and rests a limit sell of 5: headers that trade it."""
    headers = _signed_up(api)
    joined = api.post("/api/leagues/join", json={"inviteCode": invite_code}, headers=headers)
    assert joined.status_code == 201, joined.text
    trading = {**headers, "X-Account-Id": joined.json()["account"]["id"]}
    for body in (
        {"side": "buy", "orderType": "market", "quantity": "10"},
        {"side": "sell", "orderType": "limit", "quantity": "5", "limitPrice": "500.00"},
    ):
        placed = api.post(
            "/api/orders", json={"symbol": "AAPL", **body}, headers={**trading, "X-Idempotency-Key": uuid.uuid4().hex}
        )
        assert placed.status_code == 201, placed.text
    return trading


def _end_soon(engine, league_id: str) -> datetime:
    """End the league two seconds from now, with a minute candle closing at the settlement price before that."""
    ends_at = datetime.now(UTC) + timedelta(seconds=2)
    with db.session_scope(engine) as session:
        price = SETTLEMENT_PRICE
        candle = Candle(t=ends_at - timedelta(minutes=2), open=price, high=price, low=price, close=price, volume=1)
        history.save(session, MINUTE, {"AAPL": [candle]})
        session.execute(
            text("UPDATE leagues SET ends_at = :end, join_until = :end WHERE id = :league"),
            {"end": ends_at, "league": uuid.UUID(league_id)},
        )
        session.commit()
    return ends_at


def _settled(engine, league_id: str) -> dict[str, list[Decimal]]:
    """Each settled account's settlement amounts."""
    with engine.connect() as connection:
        found: dict[str, list[Decimal]] = {}
        for account_id, amount in connection.execute(_SETTLEMENTS, {"league": uuid.UUID(league_id)}):
            found.setdefault(str(account_id), []).append(amount)
        return found
