"""alpaca-py's bracket, OTO and OCO orders and replace_order_by_id on Sherwood: the legs nested as Alpaca shows them,
one exit canceled when the other fills (the execution engine driven by quotes), the replaced order pointing at its
replacement, the trade updates of legs and replacements, and Alpaca's refusals."""

import asyncio

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream

from tests.alpaca.streaming import WAIT, next_update, running, ws_url
from tests.support.api import wait_until


@pytest.fixture
def trading(sherwood, trader) -> TradingClient:
    sherwood.quote("AAPL", "200.00", "200.10")
    return TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)


def bracket(qty=2, stop_limit=None, **more) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="AAPL",
        qty=qty,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=210),
        stop_loss=StopLossRequest(stop_price=190, limit_price=stop_limit),
        **more,
    )


def resting_limit(qty=2, price=150, **more) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=price, **more
    )


def refusal(call) -> APIError:
    with pytest.raises(APIError) as raised:
        call()
    return raised.value


def legs_by_type(order) -> dict:
    return {leg.type: leg for leg in order.legs}


def status_of(trading: TradingClient, order_id, wanted: OrderStatus):
    return wait_until(lambda: trading.get_order_by_id(order_id).status == wanted, f"order {order_id} {wanted}")


def test_a_bracket_fills_its_entry_nests_its_legs_and_one_exit_cancels_the_other(sherwood, trader, trading):
    placed = trading.submit_order(bracket(stop_limit=189))
    assert (placed.order_class, placed.status) == (OrderClass.BRACKET, OrderStatus.FILLED)
    assert placed.filled_avg_price == "200.1"
    legs = legs_by_type(placed)
    take_profit, stop_loss = legs["limit"], legs["stop_limit"]
    assert (take_profit.limit_price, stop_loss.stop_price, stop_loss.limit_price) == ("210", "190", "189")
    assert {(leg.side, leg.qty, leg.status, leg.order_class) for leg in placed.legs} == {
        (OrderSide.SELL, "2", OrderStatus.NEW, OrderClass.BRACKET)
    }
    assert [leg.id for leg in trading.get_order_by_id(placed.id).legs] == [take_profit.id, stop_loss.id]
    (nested,) = trading.get_orders(GetOrdersRequest(nested=True))  # open while its legs are
    assert nested.id == placed.id and {leg.id for leg in nested.legs} == {take_profit.id, stop_loss.id}
    flat = trading.get_orders()
    assert {o.id for o in flat} == {take_profit.id, stop_loss.id} and all(o.legs is None for o in flat)
    mirrored = httpx.get(f"{sherwood.url}/api/orders/{placed.id}", headers=trader.key).json()["order"]
    assert {leg["id"] for leg in mirrored["legs"]} == {str(take_profit.id), str(stop_loss.id)}

    sherwood.quote("AAPL", "210.00", "210.10")  # the take-profit's limit is reached
    status_of(trading, take_profit.id, OrderStatus.FILLED)
    assert trading.get_order_by_id(stop_loss.id).status == OrderStatus.CANCELED
    assert trading.get_orders() == []
    assert refusal(lambda: trading.get_open_position("AAPL")).status_code == 404  # sold by the take-profit


def test_an_oto_rests_with_a_held_leg_and_canceling_the_entry_cancels_it(trading):
    oto = trading.submit_order(resting_limit(order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=140)))
    assert (oto.order_class, oto.status) == (OrderClass.OTO, OrderStatus.NEW)
    (leg,) = oto.legs
    assert (leg.type, leg.stop_price, leg.status, leg.side) == ("stop", "140", OrderStatus.HELD, OrderSide.SELL)
    trading.cancel_order_by_id(oto.id)
    assert trading.get_order_by_id(leg.id).status == OrderStatus.CANCELED


def test_an_oco_sells_held_shares_with_its_limit_from_take_profit_and_the_stop_cancels_it(sherwood, trading):
    trading.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    oco = trading.submit_order(
        LimitOrderRequest(  # alpaca-py lets an oco leave limit_price to take_profit
            symbol="AAPL",
            qty=1,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=220),
            stop_loss=StopLossRequest(stop_price=180),
        )
    )
    assert (oco.order_class, oco.type, oco.limit_price, oco.status) == (OrderClass.OCO, "limit", "220", OrderStatus.NEW)
    (stop,) = oco.legs
    assert (stop.type, stop.stop_price, stop.status) == ("stop", "180", OrderStatus.NEW)
    sherwood.quote("AAPL", "178.90", "179.00", last="179.00")  # the stop-loss triggers and sells at the bid
    status_of(trading, stop.id, OrderStatus.FILLED)
    assert trading.get_order_by_id(oco.id).status == OrderStatus.CANCELED
    assert trading.get_order_by_id(stop.id).filled_avg_price == "178.9"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"side": "sell"}, "a bracket entry buys the shares its legs sell: side buy"),
        ({"type": "stop", "stop_price": 250}, "a bracket entry is a market or limit order"),
        ({"take_profit": {"limit_price": 150}}, "take_profit.limit_price must be above the entry's price"),
        ({"stop_loss": None}, "a bracket order takes both take_profit and stop_loss"),
        ({"order_class": "mleg"}, "invalid order_class: mleg"),
        ({"take_profit": {"limit_price": "x"}}, "limit_price"),
        ({"order_class": "oco", "side": "sell", "type": "limit", "limit_price": 230}, "must match"),
    ],
)
def test_classes_sherwood_cannot_place_are_422_40010001(sherwood, trader, trading, change, message):
    sent = {
        "symbol": "AAPL",
        "qty": 1,
        "side": "buy",
        "type": "market",
        "time_in_force": "gtc",
        "order_class": "bracket",
        "take_profit": {"limit_price": 210},
        "stop_loss": {"stop_price": 190},
        **change,
    }
    answer = httpx.post(f"{sherwood.alpaca}/v2/orders", json=sent, headers=trader.key)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == 40010001 and message in answer.json()["message"], answer.text
    assert trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL)) == []


def test_replace_makes_a_new_order_that_replaces_the_old(sherwood, trader, trading):
    old = trading.submit_order(resting_limit(client_order_id="first"))
    new = trading.replace_order_by_id(old.id, ReplaceOrderRequest(qty=3, limit_price=151, client_order_id="second"))
    assert new.id != old.id and new.replaces == old.id
    assert (new.qty, new.limit_price, new.status, new.client_order_id) == ("3", "151", OrderStatus.NEW, "second")
    assert (new.time_in_force, new.type) == (TimeInForce.GTC, "limit")
    replaced = trading.get_order_by_id(old.id)
    assert (replaced.status, replaced.replaced_by) == (OrderStatus.REPLACED, new.id) and replaced.replaced_at
    assert trading.get_order_by_client_id("second").id == new.id
    assert [o.id for o in trading.get_orders()] == [new.id]
    generated = trading.replace_order_by_id(new.id, ReplaceOrderRequest(time_in_force=TimeInForce.DAY))
    assert generated.client_order_id not in ("first", "second") and generated.limit_price == "151"
    api = httpx.get(f"{sherwood.url}/api/orders/{generated.id}", headers=trader.key).json()["order"]
    assert (api["replaces"], api["timeInForce"]) == (str(new.id), "day")
    assert api["clientOrderId"] == generated.client_order_id


def test_replace_moves_a_trail_and_a_bracket_leg(sherwood, trading):
    trading.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    trailing = trading.submit_order(
        TrailingStopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=1.5
        )
    )
    moved = trading.replace_order_by_id(trailing.id, ReplaceOrderRequest(trail=2))
    assert (moved.trail_percent, moved.trail_price, moved.replaces) == ("2", None, trailing.id)
    placed = trading.submit_order(bracket())
    take_profit = legs_by_type(placed)["limit"]
    higher = trading.replace_order_by_id(take_profit.id, ReplaceOrderRequest(limit_price=215))
    assert (higher.limit_price, higher.order_class, higher.replaces) == ("215", OrderClass.BRACKET, take_profit.id)
    sherwood.quote("AAPL", "186.00", "186.10", last="186.00")  # the stop-loss fills: the moved take-profit goes
    status_of(trading, higher.id, OrderStatus.CANCELED)


def test_replace_refusals_have_alpacas_codes(trading):
    order = trading.submit_order(resting_limit())
    same = refusal(lambda: trading.replace_order_by_id(order.id, ReplaceOrderRequest(limit_price=150)))
    assert (same.status_code, same.code, same.message) == (403, 40310000, "order parameters are not changed")
    broke = refusal(lambda: trading.replace_order_by_id(order.id, ReplaceOrderRequest(qty=100_000)))
    assert (broke.status_code, broke.code, broke.message) == (403, 40310000, "insufficient buying power")
    bad = refusal(lambda: trading.replace_order_by_id(order.id, ReplaceOrderRequest(limit_price=150.123)))
    assert (bad.status_code, bad.code) == (422, 40010001) and "limit_price" in bad.message
    trail = refusal(lambda: trading.replace_order_by_id(order.id, ReplaceOrderRequest(trail=1)))
    assert (trail.code, trail.message) == (40010001, "trail is only for trailing_stop orders")
    other = trading.submit_order(resting_limit(price=140, client_order_id="taken"))
    taken = refusal(lambda: trading.replace_order_by_id(order.id, ReplaceOrderRequest(qty=1, client_order_id="taken")))
    assert (taken.code, taken.message) == (40010001, "client_order_id must be unique")
    trading.cancel_order_by_id(other.id)
    ended = refusal(lambda: trading.replace_order_by_id(other.id, ReplaceOrderRequest(qty=1)))
    assert (ended.status_code, ended.code, ended.message) == (422, 42210000, 'order is already in "canceled" state')
    assert trading.get_order_by_id(order.id).status == OrderStatus.NEW  # every refusal left it as it was


async def test_trade_updates_tell_legs_and_replacements(sherwood, trader):
    trading = TradingClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)
    await asyncio.to_thread(sherwood.quote, "AAPL", "200.00", "200.10")
    stream = TradingStream(trader.key_id, trader.secret, url_override=ws_url(sherwood, "/stream"))
    updates: asyncio.Queue = asyncio.Queue()

    async def on_update(update):
        await updates.put(update)

    stream.subscribe_trade_updates(on_update)
    async with running(stream):
        placed = await asyncio.to_thread(trading.submit_order, bracket())
        legs = legs_by_type(placed)
        told_new = set()
        while told_new != {placed.id, *(leg.id for leg in placed.legs)}:
            told_new.add((await next_update(updates, "new")).order.id)
        await asyncio.to_thread(sherwood.quote, "AAPL", "210.00", "210.10")
        fill = await next_update(updates, "fill")
        while fill.order.id != legs["limit"].id:  # the entry's own fill comes first
            fill = await next_update(updates, "fill")
        assert (fill.price, fill.qty, fill.position_qty) == (210.0, 2.0, 0.0)
        canceled = await next_update(updates, "canceled")
        assert canceled.order.id == legs["stop"].id and canceled.order.order_class == OrderClass.BRACKET

        entry = resting_limit(order_class=OrderClass.OTO, take_profit=TakeProfitRequest(limit_price=160))
        oto = await asyncio.to_thread(trading.submit_order, entry)
        await asyncio.to_thread(sherwood.quote, "AAPL", "149.90", "150.00")  # the entry fills; its leg rests
        before_fill = []
        while not (before_fill and before_fill[-1].event == "fill"):
            before_fill.append(await asyncio.wait_for(updates.get(), WAIT))
        assert [(u.event, u.order.id) for u in before_fill] == [("new", oto.id), ("fill", oto.id)]  # the leg was held
        leg_news = await next_update(updates, "new")
        assert (leg_news.order.id, leg_news.order.status) == (oto.legs[0].id, OrderStatus.NEW)

        resting = await asyncio.to_thread(trading.submit_order, resting_limit(price=140))
        await next_update(updates, "new")
        change = ReplaceOrderRequest(limit_price=141)
        new = await asyncio.to_thread(trading.replace_order_by_id, resting.id, change)
        replaced = await next_update(updates, "replaced")
        assert (replaced.order.id, replaced.order.replaced_by, replaced.order.status) == (
            resting.id,
            new.id,
            OrderStatus.REPLACED,
        )
        fresh = await next_update(updates, "new")
        assert (fresh.order.id, fresh.order.replaces, fresh.order.limit_price) == (new.id, resting.id, "141")
