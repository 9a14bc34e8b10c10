"""The end of a league: within 10 s of endsAt its resting orders are canceled and every position is settled at the
close of the last minute candle ending at or before endsAt, exactly once even when a restart or a second leader
runs the settlement again; the standings are then final and never change. On PostgreSQL + Redis and on the
embedded default (the app under test runs the league clock)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from models.account import Account, LedgerEntry, LedgerKind, Position
from models.candle import MINUTE
from models.league import League
from models.market import Candle
from models.order import Order
from services.infra.db import session_scope
from services.infra.leader import SoleLeadership
from services.leagues import lifecycle
from services.market import history
from services.trading import accounts, reconcile
from tests.support.api import error_code, publish, sign_up, wait_until
from tests.support.leagues import ago, create, in_, join, move


def place(api, headers, account_id, **fields):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "10", **fields}
    chosen = {**headers, "X-Account-Id": account_id, "X-Idempotency-Key": uuid.uuid4().hex}
    return api.post("/api/orders", json=body, headers=chosen)


def candle(started, symbol: str, t: datetime, close: str) -> None:
    price = Decimal(close)
    with session_scope(started.engine) as db:
        history.save(db, MINUTE, {symbol: [Candle(t=t, open=price, high=price, low=price, close=price, volume=1)]})


def ledger(started, account_id: str) -> list[LedgerEntry]:
    with session_scope(started.engine) as db:
        return list(db.exec(select(LedgerEntry).where(LedgerEntry.account_id == uuid.UUID(account_id))))


def book(started, account_id: str) -> tuple[Decimal, list[Position]]:
    with session_scope(started.engine) as db:
        account = db.get(Account, uuid.UUID(account_id))
        held = db.exec(select(Position).where(Position.account_id == account.id, Position.quantity > 0)).all()
        assert reconcile.reconcile_account(db, account.id) == []
        return account.cash, list(held)


def leaderboard(api, headers, league):
    return api.get(f"/api/leagues/{league['id']}/leaderboard", headers=headers).json()


def test_the_clock_settles_at_the_last_candle_before_the_end_and_freezes_the_standings(api, started):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, startingCash="10000", endsAt=in_(3))
    ends_at = datetime.fromisoformat(league["endsAt"])
    account = join(api, student, league)["account"]
    publish(started, "AAPL", "100.00", "100.02")
    assert place(api, student, account["id"]).status_code == 201  # 10 shares for 1000.20
    resting = place(api, student, account["id"], orderType="limit", limitPrice="50", quantity="1").json()["order"]
    # The candle ending exactly at the end sets the price; the one ending after it does not.
    candle(started, "AAPL", ends_at - timedelta(minutes=1), "105.00")
    candle(started, "AAPL", ends_at - timedelta(seconds=30), "999.00")
    final = wait_until(
        lambda: leaderboard(api, student, league)["final"], "the final standings", timeout=20, every=0.25
    )
    assert final is True
    with session_scope(started.engine) as db:
        settled_at = db.get(League, uuid.UUID(league["id"])).settled_at
        canceled = db.get(Order, uuid.UUID(resting["id"]))
    assert settled_at - ends_at < timedelta(seconds=10)
    # Resting orders stopped at the closing bell, before the settlement.
    assert canceled.status == "canceled" and ends_at <= canceled.updated_at < settled_at
    cash, held = book(started, account["id"])
    assert held == [] and cash == Decimal("10000") - Decimal("1000.20") + Decimal("1050.00")
    assert [e.amount for e in ledger(started, account["id"]) if e.kind == LedgerKind.SETTLEMENT] == [Decimal("1050.00")]
    standings = leaderboard(api, student, league)
    assert [(s["rank"], s["equity"], s["returnPercent"], s["trades"], s["isMe"]) for s in standings["standings"]] == [
        (1, "10049.80", "0.50", 1, True)
    ]
    # Never changes: not with the market, not with a fresh computation.
    publish(started, "AAPL", "300.00", "300.02")
    started.leaderboards.forget(uuid.UUID(league["id"]))
    assert leaderboard(api, student, league) == standings
    assert error_code(place(api, student, account["id"]), 400) == "LEAGUE_NOT_RUNNING"


def test_the_owner_ends_a_running_league(api, started):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner)
    account = join(api, student, league)["account"]
    path = f"/api/leagues/{league['id']}/end"
    assert error_code(api.post(path, headers=student), 403) == "NOT_LEAGUE_OWNER"
    ended = api.post(path, headers=owner)
    assert ended.status_code == 200, ended.text
    assert ended.json()["league"]["status"] == "ended"
    assert error_code(api.post(path, headers=owner), 409) == "LEAGUE_ENDED"
    assert error_code(place(api, student, account["id"]), 400) == "LEAGUE_NOT_RUNNING"
    assert wait_until(lambda: leaderboard(api, student, league)["final"], "the final standings", timeout=20, every=0.25)
    upcoming = create(api, owner, startsAt=in_(3600))
    assert error_code(api.post(f"/api/leagues/{upcoming['id']}/end", headers=owner), 409) == "LEAGUE_NOT_STARTED"


def test_a_restart_or_a_second_leader_mid_settlement_neither_skips_nor_doubles_it(api, started):
    owner, _ = sign_up(api)
    league = create(api, owner, startingCash="10000")
    players = []
    for _ in range(3):
        headers, _ = sign_up(api)
        players.append((headers, join(api, headers, league)["account"]))
    publish(started, "AAPL", "100.00", "100.02")
    for headers, account in players:
        assert place(api, headers, account["id"]).status_code == 201
        place(api, headers, account["id"], side="sell", orderType="limit", limitPrice="500", quantity="5")
    ends_at = datetime.now(UTC) - timedelta(seconds=lifecycle.SETTLE_AFTER.total_seconds() + 1)
    candle(started, "AAPL", ends_at - timedelta(minutes=1), "110.00")

    first_user = api.get("/api/auth/me", headers=players[0][0]).json()["user"]["id"]

    async def crash_then_take_over():
        # The first leader settles one account and dies; the next leader, a restarted one and the app's own clock
        # all run the settlement at once.
        prices = {"AAPL": Decimal("110.00")}
        await accounts.settle(
            started.store,
            user_id=uuid.UUID(first_user),
            account_id=uuid.UUID(players[0][1]["id"]),
            prices=prices,
            now=datetime.now(UTC),
        )
        heirs = [lifecycle.LeagueClock(started, SoleLeadership()) for _ in range(2)]
        return await asyncio.gather(*(heir.settle_due() for heir in heirs), lifecycle.settle(started, league_id))

    league_id = uuid.UUID(league["id"])
    move(started, league["id"], starts_at=ago(3600), ends_at=ends_at, join_until=ends_at)
    api.portal.call(crash_then_take_over)
    wait_until(lambda: leaderboard(api, owner, league)["final"], "the final standings", timeout=20, every=0.25)
    expected = Decimal("10000") - Decimal("1000.20") + Decimal("1100.00")
    for _, account in players:
        cash, held = book(started, account["id"])
        assert (cash, held) == (expected, [])
        settlements = [e for e in ledger(started, account["id"]) if e.kind == LedgerKind.SETTLEMENT]
        assert [e.amount for e in settlements] == [Decimal("1100.00")]
    frozen = leaderboard(api, owner, league)
    assert [s["equity"] for s in frozen["standings"]] == [f"{expected:.2f}"] * 3
    assert [s["rank"] for s in frozen["standings"]] == [1, 1, 1]
    # Running it once more (another restart) changes nothing.
    assert api.portal.call(lifecycle.settle, started, league_id) is False
    started.leaderboards.forget(league_id)
    assert leaderboard(api, owner, league) == frozen
