"""The order form's checks: plain sentences per field, the server's refusals said before the review, and what a
stop order's review explains and warns of."""

from decimal import Decimal

import pytest

from components.order_checks import Fields, Means, NotANumberError, check, number, review_notes
from tests.support.factories import quote

RICH = Means(buying_power=Decimal("100000"), held=Decimal("0"), available=Decimal("0"))
HOLDER = Means(buying_power=Decimal("0"), held=Decimal("0.005"), available=Decimal("0.005"))
AAPL = quote("AAPL", "100.00")  # bid 99.99, ask 100.01


def order(**typed) -> Fields:
    return Fields(**{"symbol": "AAPL", "side": "buy", "order_type": "market", "unit": "shares", "amount": ""} | typed)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", Decimal("10")),
        ("2.5", Decimal("2.5")),
        (".5", Decimal("0.5")),
        ("1,250.50", Decimal("1250.50")),
        ("$12", Decimal("12")),
        (" 3 ", Decimal("3")),
        ("-5", Decimal("-5")),
        ("", None),
    ],
)
def test_numbers_as_people_type_them(text, value):
    assert number(text) == value


@pytest.mark.parametrize("text", ["1e3", "1E3", "NaN", "Infinity", "1,2", "1.2.3", "$", ".", "ten", "0x10"])
def test_anything_else_is_not_a_number(text):
    with pytest.raises(NotANumberError):
        number(text)


def test_each_field_says_what_is_missing_in_plain_words():
    checked = check(order(order_type="stop_limit"), RICH, AAPL)
    assert checked.order is None
    assert checked.errors == {
        "quantity": "Enter how many shares to trade.",
        "stopPrice": "Enter a stop price.",
        "limitPrice": "Enter a limit price.",
    }
    dollars = check(order(unit="dollars", amount="1e3"), RICH, AAPL)
    assert dollars.errors == {"quantity": "Enter a number, like 10 or 2.5."}
    assert check(order(unit="dollars", amount="10.123"), RICH, AAPL).errors == {
        "quantity": "Enter dollars and cents, like 25.50."
    }
    assert check(order(amount="0.0000001"), RICH, AAPL).errors == {
        "quantity": "Shares can have at most 6 decimal places."
    }
    assert check(order(order_type="limit", amount="1", limit="abc"), RICH, AAPL).errors == {
        "limitPrice": "Enter the limit price as a number, like 187.25."
    }


def test_an_order_under_a_dollar_is_refused_unless_it_sells_the_whole_position():
    assert check(order(amount="0.009"), RICH, AAPL).errors == {"quantity": "An order must be worth at least $1.00."}
    assert check(order(amount="0.01"), RICH, AAPL).order is not None  # $1.0001 at the ask
    part = check(order(side="sell", amount="0.004"), HOLDER, AAPL)
    assert part.errors == {"quantity": "An order must be worth at least $1.00."}
    assert check(order(side="sell", amount="0.005"), HOLDER, AAPL).order is not None  # all of it
    # Valued as the server values it: at the stop when there is no limit.
    assert check(order(order_type="stop", amount="0.5", stop="1.50"), RICH, AAPL).errors == {
        "quantity": "An order must be worth at least $1.00."
    }


def test_a_stop_is_estimated_at_the_market_and_dollars_become_shares():
    stop = check(order(order_type="stop", amount="2", stop="120.00"), RICH, AAPL)
    assert (stop.price, stop.total) == (Decimal("100.01"), Decimal("200.02"))
    dollars = check(order(unit="dollars", amount="100"), RICH, AAPL)
    assert dollars.order.quantity == Decimal("0.999900")
    assert check(order(unit="dollars", amount="100"), RICH, None).errors == {
        "quantity": "There is no price for AAPL yet: enter shares instead."
    }


def test_a_stop_review_explains_and_warns_when_it_would_trigger_at_once():
    waits = check(order(order_type="stop", amount="1", stop="110.00"), RICH, AAPL).order
    notes, warnings = review_notes(waits, AAPL)
    assert notes == [
        "When AAPL trades at $110.00 or higher, this becomes a market order: it fills at the market price then, "
        "which can differ from the stop.",
        "The estimate uses today's market price.",
    ]
    assert warnings == []
    below = check(order(order_type="stop", amount="1", stop="95.00"), RICH, AAPL).order
    assert review_notes(below, AAPL)[1] == [
        "AAPL is at $100.00, above your stop of $95.00: this order would trigger at once."
    ]
    sell_above = check(
        order(side="sell", order_type="stop_limit", amount="0.005", stop="105.00", limit="104.00"), HOLDER, AAPL
    )
    notes, warnings = review_notes(sell_above.order, AAPL)
    assert notes == ["When AAPL trades at $105.00 or lower, this becomes a limit order to sell at $104.00 or more."]
    assert warnings == ["AAPL is at $100.00, below your stop of $105.00: this order would trigger at once."]
    sell_below = check(order(side="sell", order_type="stop", amount="0.005", stop="90.00"), HOLDER, AAPL).order
    assert review_notes(sell_below, AAPL)[1] == []
