"""Fault: the instance running the execution engine killed with SIGKILL while it fills the exit legs of many
brackets, with a second instance taking the engine over."""

import signal
import time

import httpx
from sqlalchemy import text

from services.infra import db
from services.trading.reconcile import reconcile
from settings import load_settings
from tests.faults.trading import assert_no_unhandled_errors, roles, sign_up, wait_for
from tests.support.databases import fresh_postgres
from tests.support.private_servers import Ticker, private_redis
from tests.support.server import started_app

BRACKETS = 40
BRACKET = {
    "symbol": "AAPL",
    "side": "buy",
    "orderType": "market",
    "quantity": "1",
    "orderClass": "bracket",
    "takeProfit": {"limitPrice": "105.00"},
    "stopLoss": {"stopPrice": "95.00"},
}
# Per group (the entry's id): how many exit legs filled, and how many are still open.
_EXITS = text(
    "SELECT parent_id, count(*) FILTER (WHERE status = 'filled'), count(*) FILTER (WHERE status IN ('pending', 'held'))"
    " FROM orders WHERE parent_id IS NOT NULL GROUP BY parent_id"
)


def test_a_leader_killed_between_exit_fills_leaves_every_group_whole(tmp_path):
    """Injected: instance A leads the execution engine; 40 accounts each hold a filled bracket (one share, a
    take-profit at 105 and a stop-loss at 95); the price jumps to 106, and A is killed with SIGKILL as soon as the
    first take-profit has filled, while it works through the rest (each fill and its sibling's cancel are one
    transaction, so the kill can only cut one whole). Instance B takes the engine over when A's lease runs out.

    Checked: the kill caught A part way; afterwards every group has exactly one exit leg filled and none open
    (the stop-loss canceled with its sibling's fill, never filled beside it); no account holds a share or a
    reservation; the ledger reconciles; neither instance's log shows an unhandled error."""
    with fresh_postgres("legkill") as database_url, private_redis() as cache:
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "ORDER_RATE_LIMIT": "0", "API_RATE_LIMIT": "0"}
        prices = {"AAPL": "100.00"}
        engine = db.make_engine(load_settings(database_url=database_url))
        try:
            with (
                Ticker(cache.url, database_url, prices),
                started_app(tmp_path / "a.log", **env) as a,
            ):
                wait_for(lambda: "execution_engine" in roles(a.url), "A to lead the engine")
                with started_app(tmp_path / "b.log", **env) as b:
                    accounts = [sign_up(b.url)[1] for _ in range(BRACKETS)]
                    for n, headers in enumerate(accounts):
                        _place_bracket(b.url, headers, f"bracket-{n}")
                    wait_for(lambda: _open_exits(engine) == 2 * BRACKETS, "every bracket's legs to rest")

                    prices["AAPL"] = "106.00"
                    wait_for(lambda: _filled_exits(engine) > 0, "the first take-profit to fill", step=0.005)
                    a.process.send_signal(signal.SIGKILL)
                    a.process.wait(timeout=10)
                    filled_at_kill = _filled_exits(engine)
                    assert filled_at_kill < BRACKETS, "A filled every take-profit before it was killed"

                    wait_for(lambda: _filled_exits(engine) == BRACKETS, "B to fill the rest", timeout=60)
                    time.sleep(1.0)  # a doubled fill, were there one, would land by now
                    assert_no_unhandled_errors(b.log())

            with engine.connect() as connection:
                groups = connection.execute(_EXITS).all()
                holdings = connection.execute(
                    text("SELECT count(*) FROM positions WHERE quantity <> 0 OR reserved_quantity <> 0")
                ).scalar_one()
            assert len(groups) == BRACKETS
            assert {(filled, still_open) for _, filled, still_open in groups} == {(1, 0)}
            assert holdings == 0
            with db.session_scope(engine) as session:
                assert reconcile(session) == []
        finally:
            engine.dispose()


def _place_bracket(base: str, headers: dict, key: str) -> None:
    response = httpx.post(f"{base}/api/orders", json=BRACKET, headers={**headers, "X-Idempotency-Key": key}, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["order"]["status"] == "filled"


def _filled_exits(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM orders WHERE parent_id IS NOT NULL AND status = 'filled'")
        ).scalar_one()


def _open_exits(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM orders WHERE parent_id IS NOT NULL AND status = 'pending'")
        ).scalar_one()
