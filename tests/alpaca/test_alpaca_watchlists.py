"""alpaca-py's watchlist calls on Sherwood: the user's named lists (the same as /api/watchlists), each asset a full
Alpaca asset, and Alpaca's refusals."""

import uuid

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import CreateWatchlistRequest, UpdateWatchlistRequest

from tests.alpaca.conftest import sign_up


@pytest.fixture
def trading(sherwood, trader) -> TradingClient:
    return TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)


def refusal(call) -> APIError:
    with pytest.raises(APIError) as raised:
        call()
    return raised.value


def symbols_of(watchlist) -> list[str]:
    return [asset.symbol for asset in watchlist.assets]


def test_watchlist_crud_through_alpaca_py_is_the_users_lists(sherwood, trader, trading):
    (starter,) = trading.get_watchlists()  # a new user's first list
    assert starter.name == "My First List" and str(starter.account_id) == trader.account_id
    made = trading.create_watchlist(CreateWatchlistRequest(name="Tech", symbols=["msft", "AAPL"]))
    assert symbols_of(made) == ["MSFT", "AAPL"] and made.created_at <= made.updated_at
    apple = made.assets[1]
    assert (apple.id, apple.tradable, apple.fractionable, apple.status) == (
        trading.get_asset("AAPL").id,
        True,
        True,
        "active",
    )
    assert trading.get_watchlist_by_id(made.id) == made

    added = trading.add_asset_to_watchlist_by_id(made.id, "NVDA")
    assert symbols_of(added) == ["MSFT", "AAPL", "NVDA"] and added.updated_at >= made.updated_at
    removed = trading.remove_asset_from_watchlist_by_id(made.id, "MSFT")  # 200 with the list, as alpaca-py parses
    assert symbols_of(removed) == ["AAPL", "NVDA"]
    renamed = trading.update_watchlist_by_id(made.id, UpdateWatchlistRequest(name="Chips", symbols=["AMD", "NVDA"]))
    assert (renamed.name, symbols_of(renamed)) == ("Chips", ["AMD", "NVDA"])
    on_api = httpx.get(f"{sherwood.url}/api/watchlists", headers=trader.key).json()["watchlists"]
    assert [(w["name"], w["symbols"]) for w in on_api] == [
        (starter.name, symbols_of(starter)),
        ("Chips", ["AMD", "NVDA"]),
    ]
    by_name = httpx.get(f"{sherwood.alpaca}/v2/watchlists:by_name", params={"name": "chips"}, headers=trader.key)
    assert by_name.status_code == 200 and by_name.json()["id"] == str(made.id)

    assert trading.delete_watchlist_by_id(made.id) is None
    assert [w.id for w in trading.get_watchlists()] == [starter.id]


def test_watchlist_refusals_have_alpacas_codes(sherwood, trader, trading):
    made = trading.create_watchlist(CreateWatchlistRequest(name="Mine", symbols=[]))
    missing = refusal(lambda: trading.get_watchlist_by_id(uuid.uuid4()))
    assert str(missing) == '{"code":40410000,"message":"watchlist not found"}'
    unknown = refusal(lambda: trading.add_asset_to_watchlist_by_id(made.id, "NOPE"))
    assert (unknown.status_code, unknown.code, unknown.message) == (404, 40410000, "asset not found for NOPE")
    refused = refusal(lambda: trading.create_watchlist(CreateWatchlistRequest(name="NOPE", symbols=["ZZZZZ"])))
    assert (refused.status_code, refused.message) == (404, "asset not found for ZZZZZ")
    twice = refusal(lambda: trading.create_watchlist(CreateWatchlistRequest(name="mine", symbols=[])))
    assert (twice.status_code, twice.code) == (422, 40010001) and "already have a list named" in twice.message
    stranger = TradingClient(*_keys(sign_up(sherwood.url)), url_override=sherwood.alpaca)
    assert refusal(lambda: stranger.get_watchlist_by_id(made.id)).status_code == 404  # lists belong to the user
    assert refusal(lambda: stranger.delete_watchlist_by_id(made.id)).status_code == 404
    assert trading.get_watchlist_by_id(made.id).name == "Mine"
    nameless = httpx.get(f"{sherwood.alpaca}/v2/watchlists:by_name", params={"name": "nobody"}, headers=trader.key)
    assert (nameless.status_code, nameless.json()["code"]) == (404, 40410000)


def _keys(trader) -> tuple[str, str]:
    return trader.key_id, trader.secret
