"""`/api/watchlist` on PostgreSQL + Redis and the embedded default."""

import pytest

from services.watchlists import watchlist
from tests.support.api import error_code
from tests.support.api import sign_up as signed_up


def sign_up(api) -> dict[str, str]:
    return signed_up(api)[0]


def listed(response) -> list[str]:
    assert response.status_code == 200, response.text
    return response.json()["symbols"]


def test_a_new_user_starts_with_popular_symbols(api):
    assert listed(api.get("/api/watchlist", headers=sign_up(api))) == ["AAPL", "MSFT", "NVDA", "TSLA", "SPY"]


def test_symbols_are_added_once_in_order_and_removed(api):
    headers, other = sign_up(api), sign_up(api)
    defaults = list(watchlist.DEFAULT_SYMBOLS)
    assert listed(api.put("/api/watchlist/cat", headers=headers)) == [*defaults, "CAT"]
    assert listed(api.put("/api/watchlist/DE", headers=headers)) == [*defaults, "CAT", "DE"]
    assert listed(api.put("/api/watchlist/Cat", headers=headers)) == [*defaults, "CAT", "DE"]  # idempotent
    without_msft = ["AAPL", "NVDA", "TSLA", "SPY", "CAT", "DE"]
    assert listed(api.delete("/api/watchlist/msft", headers=headers)) == without_msft
    assert listed(api.delete("/api/watchlist/MSFT", headers=headers)) == without_msft  # not on the list: fine
    assert listed(api.put("/api/watchlist/MSFT", headers=headers)) == [*without_msft, "MSFT"]  # back at the end
    assert listed(api.get("/api/watchlist", headers=headers))[-1] == "MSFT"
    assert listed(api.get("/api/watchlist", headers=other)) == defaults  # each user has their own


def test_an_unlisted_symbol_is_refused(api):
    headers = sign_up(api)
    for method in (api.put, api.delete):
        response = method("/api/watchlist/nope", headers=headers)
        assert error_code(response, 400) == "UNKNOWN_SYMBOL"
        assert response.json()["error"]["details"] == {"symbols": ["NOPE"]}


def test_the_list_has_a_cap(api, monkeypatch):
    monkeypatch.setattr(watchlist, "MAX_SYMBOLS", len(watchlist.DEFAULT_SYMBOLS) + 1)
    headers = sign_up(api)
    assert listed(api.put("/api/watchlist/CAT", headers=headers))[-1] == "CAT"
    assert error_code(api.put("/api/watchlist/DE", headers=headers), 400) == "VALIDATION_ERROR"
    assert listed(api.put("/api/watchlist/CAT", headers=headers))[-1] == "CAT"  # re-adding one is no growth


@pytest.mark.parametrize(("method", "path"), [("get", ""), ("put", "/AAPL"), ("delete", "/AAPL")])
def test_the_watchlist_needs_a_login(api, method, path):
    assert error_code(getattr(api, method)(f"/api/watchlist{path}"), 401) == "UNAUTHORIZED"
    bad = {"Authorization": "Bearer nope"}
    assert error_code(getattr(api, method)(f"/api/watchlist{path}", headers=bad), 401) == "UNAUTHORIZED"
