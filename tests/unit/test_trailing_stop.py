"""The rules of a trailing stop: where the stop stands for a mark, on the tick grid, moving only in the trader's
favour."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from models.order import Order
from services.trading import rules


def trailing(side: str, mark: str, *, price: str | None = None, percent: str | None = None) -> Order:
    order = Order(
        account_id="00000000-0000-0000-0000-000000000000",
        symbol="AAPL",
        side=side,
        order_type="trailing_stop",
        quantity=Decimal(1),
        trail_price=Decimal(price) if price else None,
        trail_percent=Decimal(percent) if percent else None,
        high_water_mark=Decimal(mark),
    )
    order.stop_price = rules.trailing_stop(order)
    return order


@pytest.mark.parametrize(
    ("side", "mark", "trail", "stop"),
    [
        ("sell", "100.00", {"price": "2.50"}, "97.50"),
        ("sell", "100.00", {"percent": "0.33"}, "99.67"),
        ("sell", "33.33", {"percent": "1.5"}, "32.83"),  # 32.83005, rounded down
        ("buy", "33.33", {"percent": "1.5"}, "33.83"),  # 33.82995, rounded up
        ("sell", "1.02", {"price": "0.05"}, "0.97"),  # below $1 the tick is a hundredth of a cent
        ("sell", "1.0123", {"percent": "2"}, "0.9920"),  # 0.992054, rounded down to 4 places
        ("buy", "0.9876", {"percent": "2"}, "1.01"),  # 1.007352, above $1: rounded up to the cent
    ],
)
def test_the_stop_sits_on_the_tick_grid_on_the_traders_side(side, mark, trail, stop):
    assert trailing(side, mark, **trail).stop_price == Decimal(stop)


def test_a_sell_stop_follows_only_a_higher_last_and_a_buy_stop_only_a_lower_one():
    sell, buy = trailing("sell", "100.00", price="5"), trailing("buy", "100.00", price="5")
    assert not rules.follow(sell, Decimal("99.00")) and sell.stop_price == Decimal("95.00")
    assert rules.follow(sell, Decimal("103.21")) and (sell.high_water_mark, sell.stop_price) == (
        Decimal("103.21"),
        Decimal("98.21"),
    )
    assert not rules.follow(buy, Decimal("101.00")) and buy.stop_price == Decimal("105.00")
    assert rules.follow(buy, Decimal("97.50")) and buy.stop_price == Decimal("102.50")


def test_a_triggered_trailing_stop_stays_where_it_fired():
    order = trailing("sell", "100.00", percent="10")
    order.triggered_at = datetime(2030, 1, 2, tzinfo=UTC)
    assert not rules.follow(order, Decimal("150.00")) and order.stop_price == Decimal("90.00")
