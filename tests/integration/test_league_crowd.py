"""A class placing orders all at once while the leaderboard is computed again and again: no invariant broken, and
every board consistent (each member's equity is their books at one snapshot of prices). On PostgreSQL + Redis and
on the embedded default."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from models.league import League
from services.infra.db import session_scope
from services.trading import reconcile
from tests.support.api import publish, sign_up
from tests.support.leagues import create, join

MEMBERS = 30


def test_orders_at_once_and_a_refreshing_leaderboard_keep_the_books_whole(api, started):
    owner, _ = sign_up(api)
    league = create(api, owner, startingCash="10000", rules={"maxPositionPercent": 50})
    players = []
    for _ in range(MEMBERS):
        headers, _ = sign_up(api)
        players.append((headers, join(api, headers, league)["account"]["id"]))
    publish(started, "AAPL", "100.00", "100.02")
    publish(started, "MSFT", "400.00", "400.02")
    league_id = uuid.UUID(league["id"])

    def trade(player) -> list[int]:
        headers, account_id = player
        answers = []
        for symbol, shares in (("AAPL", "20"), ("MSFT", "5"), ("AAPL", "40")):  # the last passes the cap
            body = {"symbol": symbol, "side": "buy", "orderType": "market", "quantity": shares}
            chosen = {**headers, "X-Account-Id": account_id, "X-Idempotency-Key": uuid.uuid4().hex}
            answers.append(api.post("/api/orders", json=body, headers=chosen).status_code)
        return answers

    def watch(_) -> list[dict]:
        boards = []
        for _ in range(5):
            started.leaderboards.forget(league_id)  # every read computes afresh, racing the orders
            boards.append(api.get(f"/api/leagues/{league['id']}/leaderboard", headers=owner).json())
        return boards

    with ThreadPoolExecutor(max_workers=12) as pool:
        watching = [pool.submit(watch, n) for n in range(4)]
        answers = list(pool.map(trade, players))
        boards = [board for future in watching for board in future.result()]

    assert all(a == [201, 201, 400] for a in answers), answers
    with session_scope(started.engine) as db:
        assert reconcile.reconcile(db) == []
        assert db.get(League, league_id).settled_at is None
    # Whatever moment a board caught, each line is a member's books at the one set of prices.
    possible = {
        Decimal("10000"),  # nothing filled yet
        Decimal("10000") - Decimal("2000.40") + Decimal("2000.00"),  # the AAPL buy
        Decimal("10000") - Decimal("2000.40") - Decimal("2000.10") + Decimal("4000.00"),  # and the MSFT one
    }
    for board in boards:
        assert len(board["standings"]) == MEMBERS
        assert {Decimal(line["equity"]) for line in board["standings"]} <= possible, board
    started.leaderboards.forget(league_id)
    final = api.get(f"/api/leagues/{league['id']}/leaderboard", headers=owner).json()
    assert {line["equity"] for line in final["standings"]} == {"9999.50"}
    assert {line["rank"] for line in final["standings"]} == {1} and {line["trades"] for line in final["standings"]} == {
        2
    }
