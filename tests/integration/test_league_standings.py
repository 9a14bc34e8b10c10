"""The leaderboard (standard competition ranking, display names or "Player N", never emails), the owner's CSV exports
and removing a member, on PostgreSQL + Redis and on the embedded default."""

import csv
import io
import uuid

from tests.support.api import error_code, publish, sign_up
from tests.support.factories import PASSWORD, random_email
from tests.support.leagues import create, join


def named(api, display_name: str) -> tuple[dict, str]:
    email = random_email()
    body = {"email": email, "password": PASSWORD, "displayName": display_name}
    user = api.post("/api/auth/register", json=body).json()["user"]
    token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}, user["id"]


def buy(api, headers, account_id: str, quantity: str = "10"):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": quantity}
    chosen = {**headers, "X-Account-Id": account_id, "X-Idempotency-Key": uuid.uuid4().hex}
    response = api.post("/api/orders", json=body, headers=chosen)
    assert response.status_code == 201, response.text
    return response.json()["order"]


def board(api, headers, league: dict):
    response = api.get(f"/api/leagues/{league['id']}/leaderboard", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def classroom(api, started):
    """A league of three: Robin traded and lost, the two others (one without a display name) did not."""
    owner, _ = sign_up(api)
    league = create(api, owner, startingCash="10000")
    robin, _ = named(api, "Robin")
    marian, _ = named(api, "Maid Marian")
    anonymous, _ = sign_up(api)
    robin_account = join(api, robin, league)["account"]
    join(api, marian, league)
    join(api, anonymous, league)
    publish(started, "AAPL", "100.00", "100.02")
    buy(api, robin, robin_account["id"])
    publish(started, "AAPL", "90.00", "90.02")  # Robin's 10 shares now 900
    return owner, league, (robin, marian, anonymous), robin_account


def test_the_leaderboard_ranks_by_equity_ties_share_a_rank(api, started):
    owner, league, (robin, marian, anonymous), _ = classroom(api, started)
    seen = board(api, marian, league)
    assert set(seen) == {"leagueId", "asOf", "final", "standings"}
    assert seen["leagueId"] == league["id"] and seen["final"] is False
    lines = [(s["rank"], s["displayName"], s["equity"], s["returnPercent"], s["trades"]) for s in seen["standings"]]
    assert lines == [
        (1, "Maid Marian", "10000.00", "0.00", 0),
        (1, "Player 3", "10000.00", "0.00", 0),
        (3, "Robin", "9899.80", "-1.00", 1),  # 10000 - 1000.20 + 900.00
    ]
    assert [s["isMe"] for s in seen["standings"]] == [True, False, False]
    assert set(seen["standings"][0]) == {
        "rank",
        "displayName",
        "equity",
        "returnPercent",
        "dayChangePercent",
        "trades",
        "isMe",
    }
    assert seen["standings"][2]["dayChangePercent"] == "-1.00"  # joined today: the day began at the starting cash
    robin_view = board(api, robin, league)
    assert [s["isMe"] for s in robin_view["standings"]] == [False, False, True]
    assert [s["isMe"] for s in board(api, anonymous, league)["standings"]] == [False, True, False]
    owner_view = api.get(f"/api/leagues/{league['id']}/leaderboard", headers=owner)
    assert "@" not in owner_view.text  # display names only, never emails
    assert not any(s["isMe"] for s in owner_view.json()["standings"])


def test_the_leaderboard_is_computed_once_per_interval_for_every_viewer(api, started):
    owner, league, players, _ = classroom(api, started)
    before = started.leaderboards.computed
    answers = [board(api, viewer, league) for viewer in (*players, owner) for _ in range(2)]
    assert started.leaderboards.computed == before + 1
    assert len({a["asOf"] for a in answers}) == 1


def test_strangers_do_not_see_a_private_leaderboard_a_league_key_does(api, started):
    owner, league, (robin, *_), robin_account = classroom(api, started)
    stranger, _ = sign_up(api)
    assert error_code(api.get(f"/api/leagues/{league['id']}/leaderboard", headers=stranger), 404) == "LEAGUE_NOT_FOUND"
    key = api.post("/api/keys", json={"name": "bot", "accountId": robin_account["id"]}, headers=robin).json()
    bot = {"APCA-API-KEY-ID": key["key"]["keyId"], "APCA-API-SECRET-KEY": key["secret"]}
    seen = board(api, bot, league)
    assert [s["displayName"] for s in seen["standings"] if s["isMe"]] == ["Robin"]
    assert error_code(api.get(f"/api/leagues/{league['id']}", headers=bot), 403) == "SESSION_REQUIRED"
    public = create(api, owner, visibility="public")
    assert board(api, stranger, public)["standings"] == []


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_owner_exports_the_standings_and_every_fill(api, started):
    owner, league, (robin, marian, _), _ = classroom(api, started)
    path = f"/api/leagues/{league['id']}/export"
    robin_email = api.get("/api/auth/me", headers=robin).json()["user"]["email"]
    standings = rows_of(api.get(path, params={"what": "standings"}, headers=owner))
    assert [(r["rank"], r["displayName"], r["equity"]) for r in standings] == [
        ("1", "Maid Marian", "10000.00"),
        ("1", "Player 3", "10000.00"),
        ("3", "Robin", "9899.80"),
    ]
    assert standings[2]["email"] == robin_email and standings[2]["trades"] == "1"
    (fill,) = rows_of(api.get(path, params={"what": "trades"}, headers=owner))
    assert (fill["email"], fill["displayName"], fill["symbol"], fill["side"], fill["quantity"], fill["price"]) == (
        robin_email,
        "Robin",
        "AAPL",
        "buy",
        "10",
        "100.02",
    )
    assert error_code(api.get(path, params={"what": "trades"}, headers=marian), 403) == "NOT_LEAGUE_OWNER"
    assert error_code(api.get(path, params={"what": "orders"}, headers=owner), 400) == "VALIDATION_ERROR"


def test_a_removed_member_leaves_the_standings_and_cannot_rejoin(api, started):
    owner, league, (robin, marian, _), robin_account = classroom(api, started)
    robin_id = api.get("/api/auth/me", headers=robin).json()["user"]["id"]
    key = api.post("/api/keys", json={"name": "bot", "accountId": robin_account["id"]}, headers=robin).json()
    bot = {"APCA-API-KEY-ID": key["key"]["keyId"], "APCA-API-SECRET-KEY": key["secret"]}
    path = f"/api/leagues/{league['id']}/members/{robin_id}"
    assert error_code(api.delete(path, headers=marian), 403) == "NOT_LEAGUE_OWNER"
    assert api.delete(path, headers=owner).status_code == 204
    assert [s["displayName"] for s in board(api, marian, league)["standings"]] == ["Maid Marian", "Player 3"]
    accounts = api.get("/api/accounts", headers=robin).json()["accounts"]
    assert robin_account["id"] not in [a["id"] for a in accounts]
    assert error_code(api.get("/api/portfolio", headers=bot), 401) == "UNAUTHORIZED"  # the account's keys died
    again = api.post("/api/leagues/join", json={"inviteCode": league["inviteCode"]}, headers=robin)
    assert error_code(again, 403) == "REMOVED_FROM_LEAGUE"
    assert error_code(api.delete(path, headers=owner), 404) == "MEMBER_NOT_FOUND"
    assert error_code(api.get(f"/api/leagues/{league['id']}", headers=robin), 404) == "LEAGUE_NOT_FOUND"
