"""alpaca-py's TradingClient placing, listing, reading and canceling orders on Sherwood: the same orders as
/api/orders, and Alpaca's refusals (APIError with Alpaca's codes)."""

import uuid
from datetime import timedelta

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)

from models.types import utcnow


@pytest.fixture
def trading(sherwood, trader) -> TradingClient:
    sherwood.quote("AAPL", "200.00", "200.10")
    return TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)


def buy(qty=1, **more) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, **more)


def resting_limit(qty=2, price=150.25, **more) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=price, **more
    )


def api_orders(sherwood, trader) -> dict[str, dict]:
    listed = httpx.get(f"{sherwood.url}/api/orders", headers=trader.key).json()["orders"]
    return {order["id"]: order for order in listed}


def refusal(call) -> APIError:
    with pytest.raises(APIError) as raised:
        call()
    return raised.value


def test_a_market_buy_fills_at_the_ask_and_is_the_same_order_in_api_orders(sherwood, trader, trading):
    order = trading.submit_order(buy(client_order_id="bot-1"))
    assert order.status == OrderStatus.FILLED and order.client_order_id == "bot-1"
    assert (order.qty, order.filled_qty, order.filled_avg_price) == ("1", "1", "200.1")
    assert order.order_class == OrderClass.SIMPLE and order.filled_at is not None and order.legs is None
    assert order.asset_id == trading.get_asset("AAPL").id
    mirrored = api_orders(sherwood, trader)[str(order.id)]
    assert (mirrored["clientOrderId"], mirrored["status"], mirrored["avgFillPrice"]) == ("bot-1", "filled", "200.10")
    assert trading.get_account().cash == "99799.9"


def test_an_order_placed_on_api_is_listed_and_canceled_through_alpaca(sherwood, trader, trading):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "100"}
    placed = httpx.post(f"{sherwood.url}/api/orders", json=body, headers={**trader.key, "X-Idempotency-Key": "k1"})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order"]["id"]
    (listed,) = trading.get_orders()
    assert str(listed.id) == order_id and listed.client_order_id == order_id and listed.status == OrderStatus.NEW
    trading.cancel_order_by_id(order_id)
    assert api_orders(sherwood, trader)[order_id]["status"] == "canceled"


def test_resting_orders_of_each_kind_are_read_by_id_and_client_order_id(trading):
    placed = [
        trading.submit_order(resting_limit(client_order_id="limit-1")),
        trading.submit_order(
            StopOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, stop_price=400)
        ),
        trading.submit_order(
            StopLimitOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, stop_price=400, limit_price=401
            )
        ),
    ]
    assert [o.status for o in placed] == [OrderStatus.NEW] * 3
    assert [o.type for o in placed] == ["limit", "stop", "stop_limit"]
    assert (placed[0].limit_price, placed[0].qty, placed[0].time_in_force) == ("150.25", "2", TimeInForce.GTC)
    assert (placed[2].stop_price, placed[2].limit_price, placed[2].expires_at is not None) == ("400", "401", True)
    assert trading.get_order_by_id(placed[1].id) == placed[1]
    assert trading.get_order_by_client_id("limit-1") == placed[0]
    assert uuid.UUID(placed[1].client_order_id)  # Alpaca names every order


def test_cancel_one_then_again_is_422_with_the_state(trading):
    order = trading.submit_order(resting_limit())
    assert trading.cancel_order_by_id(order.id) is None
    canceled = trading.get_order_by_id(order.id)
    assert canceled.status == OrderStatus.CANCELED and canceled.canceled_at is not None
    again = refusal(lambda: trading.cancel_order_by_id(order.id))
    assert (again.status_code, again.code) == (422, 42210000)
    assert again.message == 'order is already in "canceled" state'


def test_cancel_all_answers_each_order_and_then_nothing(trading):
    ids = {trading.submit_order(resting_limit(price=100 + n)).id for n in range(3)}
    trading.submit_order(buy())  # filled: not open, not canceled
    answers = trading.cancel_orders()
    assert {a.id for a in answers} == ids and {a.status for a in answers} == {200}
    assert {a.body["status"] for a in answers} == {"canceled"}
    assert trading.cancel_orders() == [] and trading.get_orders() == []


def test_listing_filters_by_status_symbols_side_time_and_direction(sherwood, trading):
    sherwood.quote("MSFT", "300.00", "300.10")
    filled = trading.submit_order(buy())
    first = trading.submit_order(resting_limit(price=101))
    second = trading.submit_order(resting_limit(price=102))
    msft = trading.submit_order(
        LimitOrderRequest(symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=200)
    )

    def ids(**query) -> list:
        return [o.id for o in trading.get_orders(GetOrdersRequest(**query))]

    assert ids() == [msft.id, second.id, first.id]  # open, newest first
    assert ids(status=QueryOrderStatus.CLOSED) == [filled.id]
    assert ids(status=QueryOrderStatus.ALL, limit=2) == [msft.id, second.id]
    assert ids(status=QueryOrderStatus.ALL, direction="asc", limit=2) == [filled.id, first.id]
    assert ids(symbols=["MSFT"]) == [msft.id] and ids(side=OrderSide.SELL) == []
    assert ids(after=first.submitted_at, nested=True) == [msft.id, second.id]
    assert ids(until=first.submitted_at + timedelta(microseconds=1)) == [first.id]
    assert ids(after=utcnow() + timedelta(minutes=1)) == []


def test_a_sell_of_shares_not_held_is_403_insufficient_qty(sherwood, trader, trading):
    sell = MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.DAY)
    refused = refusal(lambda: trading.submit_order(sell))
    assert (refused.status_code, refused.code) == (403, 40310000)
    assert refused.message == "insufficient qty available for order (requested: 10, available: 0)"
    raw = httpx.post(f"{sherwood.alpaca}/v2/orders", json=sell.to_request_fields(), headers=trader.key)
    assert raw.text == (
        '{"available":"0","code":40310000,"existing_qty":"0","held_for_orders":"0",'
        '"message":"insufficient qty available for order (requested: 10, available: 0)","symbol":"AAPL"}'
    )


def test_a_buy_beyond_buying_power_is_403(trading):
    refused = refusal(lambda: trading.submit_order(buy(qty=1000)))
    assert (refused.status_code, refused.code, refused.message) == (403, 40310000, "insufficient buying power")


def test_a_repeated_client_order_id_is_422_even_after_it_ended(trading):
    order = trading.submit_order(resting_limit(client_order_id="once"))
    trading.cancel_order_by_id(order.id)
    refused = refusal(lambda: trading.submit_order(buy(client_order_id="once")))
    assert (refused.status_code, refused.code, refused.message) == (422, 40010001, "client_order_id must be unique")
    assert trading.get_order_by_client_id("once").id == order.id


def test_unknown_orders_are_404_and_ids_that_are_not_uuids_422(sherwood, trader, trading):
    missing = refusal(lambda: trading.get_order_by_id(uuid.uuid4()))
    assert str(missing) == '{"code":40410000,"message":"order not found"}' and missing.status_code == 404
    assert refusal(lambda: trading.get_order_by_client_id("nobody")).status_code == 404
    assert refusal(lambda: trading.cancel_order_by_id(uuid.uuid4())).status_code == 404
    bad = httpx.get(f"{sherwood.alpaca}/v2/orders/123", headers=trader.key)
    assert (bad.status_code, bad.json()) == (422, {"code": 40010001, "message": "order_id is missing"})
    other = TradingClient(oauth_token=trader.token, url_override=sherwood.alpaca)
    mine = trading.submit_order(resting_limit())
    assert other.get_order_by_id(mine.id).id == mine.id  # the session acts on the same (default) account


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"qty": "-1"}, "qty"),
        ({"qty": "0.0000001"}, "qty"),
        ({"symbol": "NOPE"}, "invalid symbol"),
        ({"side": "BUY"}, "invalid side: BUY"),
        ({"type": "Market"}, "invalid order type: Market"),
        ({"time_in_force": "GTC"}, "invalid time_in_force: GTC"),
        ({"type": "limit"}, "limit_price is required"),
        ({"type": "market", "stop_price": 5}, "stop_price is not used"),
        ({"type": "limit", "limit_price": "150.123"}, "limit_price"),
        ({"qty": None}, "qty or notional is required"),
        ({"extended_hours": True}, "extended hours order must be DAY limit orders"),
        ({"client_order_id": "x" * 129}, "client_order_id"),
        ({"time_in_force": "opg"}, "time_in_force opg is not supported"),
    ],
)
def test_invalid_or_unsupported_orders_are_422_40010001(sherwood, trader, body, message):
    sent = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day", **body}
    answer = httpx.post(f"{sherwood.alpaca}/v2/orders", json=sent, headers=trader.key)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == 40010001 and message in answer.json()["message"], answer.text
    assert set(answer.json()) == {"code", "message"}


def test_malformed_json_is_400_and_strings_and_unknown_fields_are_accepted(sherwood, trader, trading):
    headers = {**trader.key, "Content-Type": "application/json"}
    broken = httpx.post(f"{sherwood.alpaca}/v2/orders", content=b"{not json", headers=headers)
    assert (broken.status_code, broken.text) == (400, '{"code":40010000,"message":"request body format is invalid"}')
    lumibot = {
        "symbol": "aapl",
        "qty": "1",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": "150.25",
        "position_intent": "buy_to_open",
        "extended_hours": False,
        "asof": None,
    }
    answer = httpx.post(f"{sherwood.alpaca}/v2/orders", json=lumibot, headers=trader.key)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["symbol"], answer.json()["limit_price"], answer.json()["status"]) == ("AAPL", "150.25", "new")


def test_trailing_stops_notional_and_immediate_orders_map_onto_sherwoods(trading):
    trading.submit_order(buy(qty=2))
    trailing = trading.submit_order(
        TrailingStopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=1.5
        )
    )
    assert (trailing.type, trailing.trail_percent, trailing.status) == ("trailing_stop", "1.5", OrderStatus.NEW)
    assert trailing.hwm is not None and trailing.stop_price is not None
    by_amount = trading.submit_order(
        MarketOrderRequest(symbol="AAPL", notional=100.25, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert (by_amount.notional, by_amount.status) == ("100.25", OrderStatus.FILLED) and by_amount.filled_qty
    missed = trading.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.IOC, limit_price=100)
    )
    assert (missed.time_in_force, missed.status) == (TimeInForce.IOC, OrderStatus.CANCELED)
