"""`/api/watchlists` (named lists) on PostgreSQL + Redis and the embedded default, and how the singular
`/api/watchlist` stays the first of them."""

import uuid

import pytest

from services.watchlists import watchlist
from tests.support.api import error_code
from tests.support.api import sign_up as signed_up

DEFAULTS = list(watchlist.DEFAULT_SYMBOLS)


def sign_up(api) -> dict[str, str]:
    return signed_up(api)[0]


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def named(api, headers) -> list[tuple[str, list[str]]]:
    return [(w["name"], w["symbols"]) for w in ok(api.get("/api/watchlists", headers=headers))["watchlists"]]


def fields(response) -> list[str]:
    assert error_code(response, 400) == "VALIDATION_ERROR"
    return [d["field"] for d in response.json()["error"]["details"]]


def test_a_new_user_has_one_list_the_singular_watchlist_is(api):
    headers = sign_up(api)
    (first,) = ok(api.get("/api/watchlists", headers=headers))["watchlists"]
    assert (first["name"], first["symbols"]) == ("My First List", DEFAULTS)
    uuid.UUID(first["id"])
    assert ok(api.get(f"/api/watchlists/{first['id']}", headers=headers))["watchlist"] == first


def test_lists_are_made_renamed_refilled_and_deleted(api):
    headers = sign_up(api)
    body = {"name": " Tech ", "symbols": ["nvda", "AMD", "nvda"]}
    tech = ok(api.post("/api/watchlists", json=body, headers=headers), 201)["watchlist"]
    assert (tech["name"], tech["symbols"]) == ("Tech", ["NVDA", "AMD"])  # trimmed, canonical, each once
    empty = ok(api.post("/api/watchlists", json={"name": "Later"}, headers=headers), 201)["watchlist"]
    assert empty["symbols"] == []
    assert named(api, headers) == [("My First List", DEFAULTS), ("Tech", ["NVDA", "AMD"]), ("Later", [])]

    renamed = ok(api.patch(f"/api/watchlists/{tech['id']}", json={"name": "Chips"}, headers=headers))["watchlist"]
    assert (renamed["id"], renamed["name"], renamed["symbols"]) == (tech["id"], "Chips", ["NVDA", "AMD"])
    refilled = ok(api.patch(f"/api/watchlists/{tech['id']}", json={"symbols": ["INTC", "nvda"]}, headers=headers))
    assert (refilled["watchlist"]["name"], refilled["watchlist"]["symbols"]) == ("Chips", ["INTC", "NVDA"])
    both = ok(api.patch(f"/api/watchlists/{empty['id']}", json={"name": "Now", "symbols": ["KO"]}, headers=headers))
    assert (both["watchlist"]["name"], both["watchlist"]["symbols"]) == ("Now", ["KO"])

    deleted = api.delete(f"/api/watchlists/{tech['id']}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert named(api, headers) == [("My First List", DEFAULTS), ("Now", ["KO"])]
    assert error_code(api.get(f"/api/watchlists/{tech['id']}", headers=headers), 404) == "WATCHLIST_NOT_FOUND"
    assert error_code(api.delete(f"/api/watchlists/{tech['id']}", headers=headers), 404) == "WATCHLIST_NOT_FOUND"


def test_the_singular_watchlist_follows_the_first_list(api):
    headers = sign_up(api)
    first = ok(api.get("/api/watchlists", headers=headers))["watchlists"][0]
    ok(api.put("/api/watchlist/CAT", headers=headers))
    assert ok(api.get(f"/api/watchlists/{first['id']}", headers=headers))["watchlist"]["symbols"] == [*DEFAULTS, "CAT"]
    ok(api.patch(f"/api/watchlists/{first['id']}", json={"symbols": ["DE"]}, headers=headers))
    assert ok(api.get("/api/watchlist", headers=headers))["symbols"] == ["DE"]
    second = ok(api.post("/api/watchlists", json={"name": "Two", "symbols": ["KO"]}, headers=headers), 201)
    assert api.delete(f"/api/watchlists/{first['id']}", headers=headers).status_code == 204
    assert ok(api.get("/api/watchlist", headers=headers))["symbols"] == ["KO"]  # the next list is first now
    assert api.delete(f"/api/watchlists/{second['watchlist']['id']}", headers=headers).status_code == 204
    assert ok(api.get("/api/watchlist", headers=headers))["symbols"] == []
    assert ok(api.delete("/api/watchlist/KO", headers=headers))["symbols"] == []
    assert ok(api.put("/api/watchlist/ko", headers=headers))["symbols"] == ["KO"]  # a first list made anew
    assert named(api, headers) == [("My First List", ["KO"])]


def test_bad_bodies_name_their_fields(api):
    headers = sign_up(api)
    first = ok(api.get("/api/watchlists", headers=headers))["watchlists"][0]["id"]
    assert fields(api.post("/api/watchlists", json={}, headers=headers)) == ["name"]
    assert fields(api.post("/api/watchlists", json={"name": "   "}, headers=headers)) == ["name"]
    assert fields(api.post("/api/watchlists", json={"name": "x" * 65}, headers=headers)) == ["name"]
    assert fields(api.post("/api/watchlists", json={"name": "a\nb"}, headers=headers)) == ["name"]
    assert fields(api.post("/api/watchlists", json={"name": "A", "symbols": "AAPL"}, headers=headers)) == ["symbols"]
    assert fields(api.post("/api/watchlists", json={"name": "A", "symbols": [""]}, headers=headers)) == ["symbols.0"]
    assert fields(api.post("/api/watchlists", json={"name": "A", "colour": "red"}, headers=headers)) == ["colour"]
    assert fields(api.post("/api/watchlists", json={"name": "my first LIST"}, headers=headers)) == ["name"]  # taken
    assert fields(api.patch(f"/api/watchlists/{first}", json={"name": ""}, headers=headers)) == ["name"]
    ok(api.patch(f"/api/watchlists/{first}", json={"name": "MY FIRST LIST"}, headers=headers))  # its own name: fine
    unknown = api.post("/api/watchlists", json={"name": "A", "symbols": ["AAPL", "nope", "zzz"]}, headers=headers)
    assert error_code(unknown, 400) == "UNKNOWN_SYMBOL"
    assert unknown.json()["error"]["details"] == {"symbols": ["NOPE", "ZZZ"]}
    unknown = api.patch(f"/api/watchlists/{first}", json={"symbols": ["NOPE"]}, headers=headers)
    assert error_code(unknown, 400) == "UNKNOWN_SYMBOL"
    assert named(api, headers) == [("MY FIRST LIST", DEFAULTS)]  # nothing refused changed anything


def test_at_most_20_lists_of_100_symbols(api, monkeypatch):
    headers = sign_up(api)
    for n in range(2, watchlist.MAX_LISTS + 1):
        ok(api.post("/api/watchlists", json={"name": f"List {n}"}, headers=headers), 201)
    assert fields(api.post("/api/watchlists", json={"name": "One too many"}, headers=headers)) == ["name"]
    assert len(named(api, headers)) == watchlist.MAX_LISTS
    monkeypatch.setattr(watchlist, "MAX_SYMBOLS", 2)
    first = ok(api.get("/api/watchlists", headers=headers))["watchlists"][1]["id"]
    assert fields(api.patch(f"/api/watchlists/{first}", json={"symbols": ["KO", "DE", "CAT"]}, headers=headers)) == [
        "symbols"
    ]
    twice = ok(api.patch(f"/api/watchlists/{first}", json={"symbols": ["KO", "DE", "ko"]}, headers=headers))
    assert twice["watchlist"]["symbols"] == ["KO", "DE"]  # a symbol given twice counts once


def test_another_users_list_is_not_found(api):
    alice, mallory = sign_up(api), sign_up(api)
    hers = ok(api.get("/api/watchlists", headers=alice))["watchlists"][0]
    for call in (
        api.get(f"/api/watchlists/{hers['id']}", headers=mallory),
        api.patch(f"/api/watchlists/{hers['id']}", json={"name": "Mine"}, headers=mallory),
        api.delete(f"/api/watchlists/{hers['id']}", headers=mallory),
        api.get("/api/watchlists/not-an-id", headers=mallory),
        api.patch(f"/api/watchlists/{uuid.uuid4()}", json={"name": "X"}, headers=mallory),
    ):
        assert error_code(call, 404) == "WATCHLIST_NOT_FOUND"
    assert ok(api.get(f"/api/watchlists/{hers['id']}", headers=alice))["watchlist"] == hers
    assert [w["id"] for w in ok(api.get("/api/watchlists", headers=mallory))["watchlists"]] != [hers["id"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("post", ""),
        ("get", f"/{uuid.UUID(int=1)}"),
        ("patch", f"/{uuid.UUID(int=1)}"),
        ("delete", f"/{uuid.UUID(int=1)}"),
    ],
)
def test_the_lists_need_a_login(api, method, path):
    kwargs = {"json": {"name": "X"}} if method in ("post", "patch") else {}
    assert error_code(getattr(api, method)(f"/api/watchlists{path}", **kwargs), 401) == "UNAUTHORIZED"
