"""alpaca-py's TradingClient on positions (list, one, close one, close all), portfolio history, and the account
activities feed that alpaca-trade-api reads (fills and cash movements)."""

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide, OrderStatus, PositionSide, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetPortfolioHistoryRequest,
    LimitOrderRequest,
    MarketOrderRequest,
)


@pytest.fixture
def trading(sherwood, trader) -> TradingClient:
    sherwood.quote("AAPL", "200.00", "200.10", last="200.05")
    sherwood.quote("MSFT", "300.00", "300.10", last="300.05")
    return TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)


def buy(trading, symbol="AAPL", qty=3):
    order = trading.submit_order(
        MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert order.status == OrderStatus.FILLED
    return order


def test_positions_are_valued_at_the_last_price(trading):
    assert trading.get_all_positions() == []
    buy(trading, qty=3)
    (position,) = trading.get_all_positions()
    assert (position.symbol, position.side, position.asset_class) == ("AAPL", PositionSide.LONG, AssetClass.US_EQUITY)
    assert (position.qty, position.qty_available, position.avg_entry_price) == ("3", "3", "200.1")
    assert (position.cost_basis, position.market_value, position.current_price) == ("600.3", "600.15", "200.05")
    assert (position.unrealized_pl, position.unrealized_plpc) == ("-0.15", "-0.00025")
    assert position.asset_id == trading.get_asset("AAPL").id
    assert trading.get_open_position("AAPL") == position == trading.get_open_position(str(position.asset_id))
    account = trading.get_account()
    assert (account.long_market_value, account.equity, account.cash) == ("600.15", "99999.85", "99399.7")


def test_shares_held_for_a_resting_sell_are_not_available(trading):
    buy(trading, qty=3)
    trading.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, limit_price=500)
    )
    assert trading.get_open_position("AAPL").qty_available == "1"


def test_a_position_not_held_is_404_position_does_not_exist(trading):
    for symbol in ("AAPL", "NOPE"):
        with pytest.raises(APIError) as raised:
            trading.get_open_position(symbol)
        assert str(raised.value) == '{"code":40410000,"message":"position does not exist"}'
    with pytest.raises(APIError) as raised:
        trading.close_position("AAPL")
    assert raised.value.status_code == 404


def test_closing_a_position_sells_it_at_market_in_part_or_whole(sherwood, trader, trading):
    buy(trading, qty=4)
    half = trading.close_position("AAPL", ClosePositionRequest(percentage="50"))
    assert (half.side, half.type, half.qty, half.status) == ("sell", "market", "2", OrderStatus.FILLED)
    one = trading.close_position("AAPL", ClosePositionRequest(qty="1"))
    assert one.filled_avg_price == "200" and trading.get_open_position("AAPL").qty == "1"
    rest = trading.close_position("AAPL")
    assert rest.qty == "1" and trading.get_all_positions() == []
    listed = httpx.get(f"{sherwood.url}/api/orders", headers=trader.key).json()["orders"]
    assert {o["id"] for o in listed} >= {str(half.id), str(one.id), str(rest.id)}


def test_closing_more_than_held_is_422(sherwood, trader, trading):
    buy(trading, qty=1)
    too_many = httpx.delete(f"{sherwood.alpaca}/v2/positions/AAPL?qty=5", headers=trader.key)
    assert too_many.status_code == 422 and too_many.json()["code"] == 40010001


def test_close_all_cancels_orders_first_and_answers_each_position(trading):
    buy(trading, "AAPL", 2)
    buy(trading, "MSFT", 1)
    resting = trading.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, limit_price=500)
    )
    answers = trading.close_all_positions(cancel_orders=True)
    assert sorted((a.symbol, a.status) for a in answers) == [("AAPL", 200), ("MSFT", 200)]
    assert {a.body.status for a in answers} == {OrderStatus.FILLED}
    assert trading.get_order_by_id(resting.id).status == OrderStatus.CANCELED
    assert trading.get_all_positions() == [] and trading.close_all_positions() == []


def test_close_all_reports_a_position_held_for_orders_as_403(trading):
    buy(trading, "AAPL", 2)
    trading.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=2, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, limit_price=500)
    )
    (answer,) = trading.close_all_positions()
    assert (answer.symbol, answer.status, answer.body.code) == ("AAPL", 403, 40310000)
    assert answer.body.message == "insufficient qty available for order (requested: 2, available: 0)"


def test_portfolio_history_is_numbers_from_the_starting_cash(trading):
    buy(trading, qty=1)
    history = trading.get_portfolio_history(GetPortfolioHistoryRequest(period="1W", timeframe="1H"))
    assert history.timeframe == "1H" and history.base_value == 100000
    assert history.equity[-1] == pytest.approx(99999.95)  # the opening and now share this hour: its last equity
    assert history.profit_loss[-1] == pytest.approx(-0.05)
    assert history.profit_loss_pct[-1] == pytest.approx(-0.0000005)
    assert len(history.timestamp) == len(history.equity) and all(isinstance(t, int) for t in history.timestamp)
    assert history.cashflow == {}
    default = trading.get_portfolio_history()
    assert default.timeframe == "1D" and default.equity[-1] == pytest.approx(99999.95)


def test_a_bad_period_or_timeframe_is_422(sherwood, trader):
    for query in ("period=abc", "timeframe=7Min"):
        answer = httpx.get(f"{sherwood.alpaca}/v2/account/portfolio/history?{query}", headers=trader.key)
        assert answer.status_code == 422 and answer.json()["code"] == 40010001


def test_activities_list_fills_and_cash_movements_newest_first_with_paging(sherwood, trader, trading):
    first, second = buy(trading, qty=1), buy(trading, "MSFT", qty=2)
    url = f"{sherwood.alpaca}/v2/account/activities"
    everything = httpx.get(url, headers=trader.key).json()
    assert [a["activity_type"] for a in everything] == ["FILL", "FILL", "CSD"]
    newest = everything[0]
    told = (newest["order_id"], newest["symbol"], newest["qty"], newest["price"])
    assert told == (str(second.id), "MSFT", "2", "300.1")
    assert (newest["side"], newest["type"], newest["order_status"]) == ("buy", "fill", "filled")
    assert everything[2]["net_amount"] == "100000" and everything[2]["status"] == "executed"
    fills = httpx.get(f"{url}/FILL", params={"page_size": 1}, headers=trader.key).json()
    assert [a["order_id"] for a in fills] == [str(second.id)]
    following = httpx.get(f"{url}/FILL", params={"page_size": 1, "page_token": fills[0]["id"]}, headers=trader.key)
    assert [a["order_id"] for a in following.json()] == [str(first.id)]
    oldest = httpx.get(url, params={"activity_types": "FILL,CSD", "direction": "asc"}, headers=trader.key).json()
    assert [a["activity_type"] for a in oldest] == ["CSD", "FILL", "FILL"]
    assert httpx.get(f"{url}/DIV", headers=trader.key).json() == []
