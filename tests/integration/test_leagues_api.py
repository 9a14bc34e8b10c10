"""The contract's Leagues section (organising, joining, leaving, the owner's view), on PostgreSQL + Redis and on the
embedded default."""

import uuid
from decimal import Decimal

from models.order import Order
from services.infra.db import session_scope
from tests.support.api import error_code, publish, sign_up
from tests.support.leagues import ago, create, in_, join, move

LEAGUE_FIELDS = {
    "id",
    "name",
    "description",
    "ownerId",
    "startingCash",
    "startsAt",
    "endsAt",
    "joinUntil",
    "symbols",
    "rules",
    "visibility",
    "status",
    "memberCount",
    "inviteCode",
}


def accounts_of(api, headers) -> list[dict]:
    return api.get("/api/accounts", headers=headers).json()["accounts"]


def test_create_answers_the_league_with_its_defaults(api, started):
    owner, owner_id = sign_up(api)
    league = create(api, owner, description="Spring term")
    assert set(league) == LEAGUE_FIELDS
    assert league["ownerId"] == owner_id and league["description"] == "Spring term"
    assert league["startingCash"] == f"{started.settings.starting_cash:.2f}"
    assert league["joinUntil"] == league["endsAt"]
    assert (league["symbols"], league["visibility"], league["status"], league["memberCount"]) == (
        None,
        "private",
        "running",
        0,
    )
    assert league["rules"] == {
        "maxPositionPercent": None,
        "allowFractional": True,
        "orderTypes": None,
        "minPrice": None,
    }
    assert len(league["inviteCode"]) == 8
    upcoming = create(
        api,
        owner,
        startsAt=in_(3600),
        startingCash="25000",
        symbols=["aapl", "MSFT", "AAPL"],
        rules={"maxPositionPercent": 25, "allowFractional": False, "orderTypes": ["market", "limit"], "minPrice": 5},
        visibility="public",
    )
    assert (upcoming["status"], upcoming["startingCash"], upcoming["symbols"]) == (
        "upcoming",
        "25000.00",
        ["AAPL", "MSFT"],
    )
    assert upcoming["rules"] == {
        "maxPositionPercent": "25.00",
        "allowFractional": False,
        "orderTypes": ["market", "limit"],
        "minPrice": "5.00",
    }


def test_bad_leagues_are_refused_naming_the_fields(api):
    owner, _ = sign_up(api)
    cases = {
        "endsAt": {"startsAt": in_(7200), "endsAt": in_(3600)},
        "symbols": {"symbols": ["AAPL", "NOPE"]},
        "startingCash": {"startingCash": "0"},
        "rules.maxPositionPercent": {"rules": {"maxPositionPercent": -5}},
        "joinUntil": {"joinUntil": in_(90000)},
    }
    for field, body in cases.items():
        answer = create(api, owner, status=400, **body)
        assert answer["error"]["code"] == "VALIDATION_ERROR", body
        assert field in {d["field"] for d in answer["error"]["details"]}, answer
    too_rich = create(api, owner, status=400, startingCash="1000000000.01")
    assert {d["field"] for d in too_rich["error"]["details"]} == {"startingCash"}
    for bad in ({"name": ""}, {"startsAt": "tomorrow"}, {"rules": {"orderTypes": ["swap"]}}, {"visibility": "secret"}):
        assert create(api, owner, status=400, **bad)["error"]["code"] == "VALIDATION_ERROR", bad


def test_a_stranger_cannot_see_a_private_league_a_member_sees_it_without_the_code(api):
    owner, _ = sign_up(api)
    stranger, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner)
    path = f"/api/leagues/{league['id']}"
    assert error_code(api.get(path, headers=stranger), 404) == "LEAGUE_NOT_FOUND"
    assert error_code(api.get("/api/leagues/not-a-league", headers=stranger), 404) == "LEAGUE_NOT_FOUND"
    assert api.get(path, headers=owner).json()["league"]["inviteCode"] == league["inviteCode"]
    join(api, student, league)
    seen = api.get(path, headers=student).json()["league"]
    assert seen["inviteCode"] is None and seen["memberCount"] == 1
    public = create(api, owner, visibility="public")
    assert api.get(f"/api/leagues/{public['id']}", headers=stranger).json()["league"]["inviteCode"] is None


def test_list_shows_mine_and_the_public_ones(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    private = create(api, owner)
    public = create(api, owner, visibility="public")
    joined = join(api, student, private)["league"]
    mine = [lg["id"] for lg in api.get("/api/leagues", headers=owner).json()["leagues"]]
    assert set(mine) == {private["id"], public["id"]}
    playing = api.get("/api/leagues", headers=student).json()["leagues"]
    assert [lg["id"] for lg in playing] == [joined["id"]]
    listed = api.get("/api/leagues", params={"visibility": "public"}, headers=student).json()["leagues"]
    assert public["id"] in [lg["id"] for lg in listed] and private["id"] not in [lg["id"] for lg in listed]
    assert (
        error_code(api.get("/api/leagues", params={"visibility": "secret"}, headers=owner), 400) == "VALIDATION_ERROR"
    )
    assert error_code(api.get("/api/leagues"), 401) == "UNAUTHORIZED"


def test_joining_by_the_code_opens_a_league_account_with_the_starting_cash(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, startingCash="5000")
    answer = join(api, student, {"inviteCode": league["inviteCode"].lower()})
    account = answer["account"]
    assert answer["league"]["id"] == league["id"] and answer["league"]["memberCount"] == 1
    assert (account["kind"], account["leagueId"], account["isDefault"], account["name"]) == (
        "league",
        league["id"],
        False,
        "Econ 101",
    )
    assert account["cash"] == account["startingCash"] == account["equity"] == "5000.00"
    assert account["id"] in [a["id"] for a in accounts_of(api, student)]
    again = api.post("/api/leagues/join", json={"inviteCode": league["inviteCode"]}, headers=student)
    assert error_code(again, 409) == "ALREADY_JOINED"
    wrong = api.post("/api/leagues/join", json={"inviteCode": "WRONG123"}, headers=student)
    assert error_code(wrong, 404) == "LEAGUE_NOT_FOUND"
    # The owner may play too.
    assert join(api, owner, league)["account"]["kind"] == "league"


def test_joining_by_id_is_for_public_leagues(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    public = create(api, owner, visibility="public")
    private = create(api, owner)
    joined = api.post(f"/api/leagues/{public['id']}/join", headers=student)
    assert joined.status_code == 201, joined.text
    assert error_code(api.post(f"/api/leagues/{private['id']}/join", headers=student), 404) == "LEAGUE_NOT_FOUND"
    assert error_code(api.post(f"/api/leagues/{uuid.uuid4()}/join", headers=student), 404) == "LEAGUE_NOT_FOUND"


def test_past_the_join_deadline_joining_is_closed(api, started):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, joinUntil=in_(3600))
    move(started, league["id"], join_until=ago(1))
    late = api.post("/api/leagues/join", json={"inviteCode": league["inviteCode"]}, headers=student)
    assert error_code(late, 409) == "LEAGUE_CLOSED"
    ended = create(api, owner, visibility="public")
    move(started, ended["id"], starts_at=ago(7200), ends_at=ago(60), join_until=ago(60))
    assert error_code(api.post(f"/api/leagues/{ended['id']}/join", headers=student), 409) == "LEAGUE_CLOSED"


def test_the_owner_changes_anything_before_the_start(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, startsAt=in_(3600))
    account = join(api, student, league)["account"]
    change = {
        "name": "Econ 102",
        "startingCash": "2500",
        "symbols": ["AAPL"],
        "rules": {"orderTypes": ["market"]},
        "endsAt": in_(7 * 86400),
        "visibility": "public",
    }
    response = api.patch(f"/api/leagues/{league['id']}", json=change, headers=owner)
    assert response.status_code == 200, response.text
    changed = response.json()["league"]
    assert (changed["name"], changed["startingCash"], changed["symbols"], changed["visibility"]) == (
        "Econ 102",
        "2500.00",
        ["AAPL"],
        "public",
    )
    assert changed["rules"]["orderTypes"] == ["market"]
    assert changed["joinUntil"] == league["joinUntil"]  # only what was sent changes
    # Members who joined already start with the new cash.
    mine = next(a for a in accounts_of(api, student) if a["id"] == account["id"])
    assert mine["cash"] == mine["startingCash"] == "2500.00"
    bad = api.patch(f"/api/leagues/{league['id']}", json={"endsAt": in_(1800)}, headers=owner)
    assert "endsAt" in {d["field"] for d in bad.json()["error"]["details"]}
    assert error_code(api.patch(f"/api/leagues/{league['id']}", json={"name": None}, headers=owner), 400)


def test_only_the_owner_changes_a_league(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    stranger, _ = sign_up(api)
    league = create(api, owner)
    join(api, student, league)
    path = f"/api/leagues/{league['id']}"
    assert error_code(api.patch(path, json={"name": "Mine"}, headers=student), 403) == "NOT_LEAGUE_OWNER"
    assert error_code(api.patch(path, json={"name": "Mine"}, headers=stranger), 404) == "LEAGUE_NOT_FOUND"
    assert error_code(api.delete(path, headers=student), 403) == "NOT_LEAGUE_OWNER"
    assert error_code(api.get(f"{path}/members", headers=student), 403) == "NOT_LEAGUE_OWNER"
    assert error_code(api.get(f"{path}/members", headers=stranger), 404) == "LEAGUE_NOT_FOUND"


def test_after_the_start_only_the_name_the_description_and_later_dates_change(api, started):
    owner, _ = sign_up(api)
    league = create(api, owner, joinUntil=in_(3600))
    path = f"/api/leagues/{league['id']}"
    ok = api.patch(path, json={"name": "Renamed", "description": "now running", "joinUntil": in_(7200)}, headers=owner)
    assert ok.status_code == 200 and ok.json()["league"]["name"] == "Renamed"
    later_end = api.patch(path, json={"endsAt": in_(2 * 86400)}, headers=owner)
    assert later_end.status_code == 200, later_end.text
    for refused in ({"startingCash": "1"}, {"endsAt": in_(3 * 3600)}, {"joinUntil": in_(60)}, {"symbols": ["AAPL"]}):
        assert error_code(api.patch(path, json=refused, headers=owner), 409) == "LEAGUE_STARTED", refused
    assert error_code(api.delete(path, headers=owner), 409) == "LEAGUE_STARTED"
    move(started, league["id"], starts_at=ago(7200), ends_at=ago(1))
    assert error_code(api.patch(path, json={"name": "Too late"}, headers=owner), 409) == "LEAGUE_ENDED"


def test_deleting_before_the_start_closes_the_members_accounts(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, startsAt=in_(3600))
    account = join(api, student, league)["account"]
    assert api.delete(f"/api/leagues/{league['id']}", headers=owner).status_code == 204
    assert account["id"] not in [a["id"] for a in accounts_of(api, student)]
    assert error_code(api.get(f"/api/leagues/{league['id']}", headers=owner), 404) == "LEAGUE_NOT_FOUND"
    assert api.get("/api/leagues", headers=student).json()["leagues"] == []


def test_a_member_leaves_their_orders_canceled_and_their_account_closed(api, started):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner)
    account = join(api, student, league)["account"]
    headers = {**student, "X-Account-Id": account["id"], "X-Idempotency-Key": uuid.uuid4().hex}
    order = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "1.50"}
    resting = api.post("/api/orders", json=order, headers=headers).json()["order"]
    assert api.post(f"/api/leagues/{league['id']}/leave", headers=student).status_code == 204
    assert account["id"] not in [a["id"] for a in accounts_of(api, student)]
    with session_scope(started.engine) as db:
        assert db.get(Order, uuid.UUID(resting["id"])).status == "canceled"
    assert api.get(f"/api/leagues/{league['id']}", headers=owner).json()["league"]["memberCount"] == 0
    assert error_code(api.post(f"/api/leagues/{league['id']}/leave", headers=student), 404) == "LEAGUE_NOT_FOUND"
    # Who left cannot come back for a fresh start.
    again = api.post("/api/leagues/join", json={"inviteCode": league["inviteCode"]}, headers=student)
    assert error_code(again, 409) == "ALREADY_JOINED"


def test_leaving_an_ended_league_is_refused(api, started):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner)
    join(api, student, league)
    move(started, league["id"], starts_at=ago(7200), ends_at=ago(1))
    assert error_code(api.post(f"/api/leagues/{league['id']}/leave", headers=student), 409) == "LEAGUE_ENDED"
    stranger, _ = sign_up(api)
    assert error_code(api.post(f"/api/leagues/{league['id']}/leave", headers=stranger), 404) == "LEAGUE_NOT_FOUND"


def test_the_owner_sees_the_members_with_their_emails_positions_and_orders(api, started):
    owner, _ = sign_up(api)
    student, student_id = sign_up(api)
    league = create(api, owner, startingCash="10000")
    account = join(api, student, league)["account"]
    publish(started, "AAPL", "100.00", "100.02")
    headers = {**student, "X-Account-Id": account["id"], "X-Idempotency-Key": uuid.uuid4().hex}
    bought = api.post(
        "/api/orders", json={"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "2"}, headers=headers
    )
    assert bought.status_code == 201, bought.text
    members = api.get(f"/api/leagues/{league['id']}/members", headers=owner)
    assert members.status_code == 200, members.text
    (member,) = members.json()["members"]
    me = api.get("/api/auth/me", headers=student).json()["user"]
    assert (member["userId"], member["email"], member["accountId"], member["trades"]) == (
        student_id,
        me["email"],
        account["id"],
        1,
    )
    assert Decimal(member["equity"]) == Decimal("10000") - Decimal("200.04") + 2 * Decimal("100.00")
    path = f"/api/leagues/{league['id']}/members/{student_id}"
    held = api.get(f"{path}/portfolio", headers=owner).json()
    assert [p["symbol"] for p in held["positions"]] == ["AAPL"]
    listed = api.get(f"{path}/orders", headers=owner).json()["orders"]
    assert [o["id"] for o in listed] == [bought.json()["order"]["id"]]
    assert error_code(api.get(f"{path}/orders", headers=student), 403) == "NOT_LEAGUE_OWNER"
    nobody = f"/api/leagues/{league['id']}/members/{uuid.uuid4()}/portfolio"
    assert error_code(api.get(nobody, headers=owner), 404) == "MEMBER_NOT_FOUND"


def test_an_api_key_may_not_organise(api):
    owner, _ = sign_up(api)
    key = api.post("/api/keys", json={"name": "bot"}, headers=owner).json()
    bot = {"APCA-API-KEY-ID": key["key"]["keyId"], "APCA-API-SECRET-KEY": key["secret"]}
    assert error_code(api.get("/api/leagues", headers=bot), 403) == "SESSION_REQUIRED"
    assert error_code(api.post("/api/leagues", json={"name": "x"}, headers=bot), 403) == "SESSION_REQUIRED"


def test_leaving_with_the_league_account_as_default_moves_the_default_back(api):
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner)
    account = join(api, student, league)["account"]
    personal = next(a["id"] for a in accounts_of(api, student) if a["kind"] == "personal")
    made = api.patch(f"/api/accounts/{account['id']}", json={"isDefault": True}, headers=student)
    assert made.status_code == 200 and made.json()["account"]["isDefault"] is True
    assert api.post(f"/api/leagues/{league['id']}/leave", headers=student).status_code == 204
    (left,) = accounts_of(api, student)
    assert (left["id"], left["isDefault"]) == (personal, True)
