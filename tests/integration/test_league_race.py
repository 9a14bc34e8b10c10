"""The race chart's data: a league's top five members' equity over its life, from the equity snapshots, served once
a minute to every viewer, on PostgreSQL + Redis and on the embedded default."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.league import League
from models.portfolio import EquitySnapshot
from services.infra.db import session_scope
from services.leagues import race
from tests.integration.test_league_standings import board, buy, named
from tests.support.api import publish, sign_up
from tests.support.leagues import create, join


def snapshots(started, account_id: str, moments: list[datetime], equity: str) -> None:
    with session_scope(started.engine) as db:
        for t in moments:
            db.add(EquitySnapshot(account_id=uuid.UUID(account_id), t=t, equity=Decimal(equity)))
        db.commit()


def test_the_race_draws_the_top_five_from_their_start_to_their_standing(api, started):
    owner, _ = sign_up(api)
    league = create(api, owner, startingCash="10000")
    members = []
    for n in range(1, 7):  # member n buys n shares: the more shares, the higher once the price rises
        headers, _ = named(api, f"Runner {n}")
        account = join(api, headers, league)["account"]
        publish(started, "AAPL", "100.00", "100.02")  # fresh: a sign-up takes a while
        buy(api, headers, account["id"], quantity=str(n))
        members.append(account)
    joined = datetime.now(UTC)  # everyone has joined by now
    publish(started, "AAPL", "120.00", "120.02")
    starts_at = datetime.fromisoformat(league["startsAt"])
    many = [joined + timedelta(microseconds=i + 1) for i in range(300)]
    snapshots(started, members[5]["id"], many, "10050.00")
    snapshots(started, members[4]["id"], [starts_at - timedelta(minutes=1)], "1.00")  # before the league: not drawn

    with session_scope(started.engine) as db:
        league_row = db.get(League, uuid.UUID(league["id"]))
    runners = api.portal.call(started.leaderboards.race, started.engine, league_row, started.hub.latest)
    shown = board(api, owner, league)["standings"]

    assert [r.display_name for r in runners] == [s["displayName"] for s in shown[:5]]
    assert [r.display_name for r in runners] == [f"Runner {n}" for n in (6, 5, 4, 3, 2)]
    for runner, standing in zip(runners, shown, strict=False):
        times = [t for t, _ in runner.points]
        assert times == sorted(times) and times[0] >= starts_at
        assert runner.points[0][1] == Decimal("10000")
        assert runner.points[-1][1] == Decimal(standing["equity"])
    top = runners[0]
    assert len(top.points) == race.MAX_POINTS + 2  # thinned, with its start and its standing
    assert {e for _, e in top.points[1:-1]} == {Decimal("10050.00")}
    assert len(runners[1].points) == 2  # no snapshot since it joined: its start and its standing
    # Served again within the minute without computing it again.
    again = api.portal.call(started.leaderboards.race, started.engine, league_row, started.hub.latest)
    assert again is runners


def test_thinning_keeps_the_last_point_and_spreads_the_rest():
    assert race.thinned(list(range(5)), 10) == [0, 1, 2, 3, 4]
    thinned = race.thinned(list(range(1000)), 10)
    assert len(thinned) == 10 and thinned[0] == 0 and thinned[-1] == 999
    assert thinned == sorted(thinned)
