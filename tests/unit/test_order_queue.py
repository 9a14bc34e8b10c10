"""The offline order queue's server side: when a queued order's price moved too far to send it unasked, what the
user is told then, and what a queued order coming back from the browser must be."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from components.order_checks import Fields
from components.order_queue import QueuedOrder, move_text, price_move

KEY = "0123456789abcdef0123456789abcdef"
FIELDS = {"symbol": "AAPL", "side": "buy", "order_type": "market", "unit": "shares", "amount": "2"}


@pytest.mark.parametrize(
    ("queued", "now", "moved"),
    [
        ("100.00", "101.00", None),  # exactly 1 %: sent as queued
        ("100.00", "99.00", None),
        ("100.00", "101.01", Decimal("0.0101")),
        ("100.00", "98.99", Decimal("-0.0101")),
        ("250.00", "250.00", None),
        (None, "101.50", None),  # queued before any quote: nothing to compare
        ("100.00", None, None),  # no quote now: the order's own checks say so
    ],
)
def test_a_move_of_more_than_one_percent_asks_again(queued, now, moved):
    as_decimal = lambda text: None if text is None else Decimal(text)  # noqa: E731
    assert price_move(as_decimal(queued), as_decimal(now)) == moved


def test_the_user_is_told_how_far_and_which_way_the_price_moved():
    assert move_text("AAPL", Decimal("100.00"), Decimal("102.50")) == (
        "AAPL moved from $100.00 to $102.50 (+2.50%) since you queued this order. Send it at today's price, "
        "or discard it."
    )
    assert "(-1.50%)" in move_text("AAPL", Decimal("100.00"), Decimal("98.50"))


def test_a_queued_order_from_the_browser_becomes_the_form_fields():
    order = QueuedOrder.model_validate({"key": KEY, "fields": FIELDS, "price": "100.25", "confirmed": False})
    assert order.fields == Fields(**FIELDS)
    assert order.price == Decimal("100.25")
    assert not order.confirmed


@pytest.mark.parametrize(
    "sent",
    [
        {"key": "not-a-key", "fields": FIELDS},  # only keys the form or the queue make
        {"key": KEY.upper(), "fields": FIELDS},
        {"key": KEY, "fields": {**FIELDS, "amount": 2}},  # texts as typed, not numbers
        {"key": KEY, "fields": {"symbol": "AAPL"}},  # not a whole form
        {"key": KEY, "fields": FIELDS, "price": "a lot"},
    ],
)
def test_anything_else_from_the_browser_is_refused(sent):
    with pytest.raises(ValidationError):
        QueuedOrder.model_validate(sent)
