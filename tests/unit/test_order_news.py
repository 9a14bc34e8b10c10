"""What a page tells its user when an order of theirs ends after it was placed."""

from components.user_events import order_news

PLACED = "2026-12-02T15:00:00Z"


def order(**fields) -> dict:
    base = {
        "orderType": "limit",
        "side": "buy",
        "quantity": "10",
        "notional": None,
        "symbol": "AAPL",
        "avgFillPrice": None,
        "createdAt": PLACED,
        "filledAt": None,
        "rejectReason": None,
    }
    return {**base, **fields}


def test_a_later_fill_is_news_with_its_price_as_money():
    filled = order(status="filled", avgFillPrice="271.5", filledAt="2026-12-02T15:03:00Z")
    assert order_news(filled) == ("Limit buy of 10 AAPL filled at $271.50", "positive")


def test_a_fill_at_placement_is_not_news_again():
    assert order_news(order(status="filled", avgFillPrice="271.5", filledAt=PLACED)) is None


def test_expiry_and_rejection_are_news_cancels_and_placements_are_not():
    assert order_news(order(status="expired", orderType="stop_limit", quantity="0.500")) == (
        "Stop limit buy of 0.5 AAPL expired",
        "info",
    )
    rejected = order(status="rejected", orderType="stop", rejectReason="The price moved past what was reserved.")
    assert order_news(rejected) == (
        "Stop buy of 10 AAPL was rejected: The price moved past what was reserved.",
        "negative",
    )
    assert order_news(order(status="canceled")) is None and order_news(order(status="pending")) is None


def test_a_notional_order_not_yet_filled_is_told_by_its_dollars():
    expired = order(orderType="market", quantity=None, notional="250", status="expired")
    assert order_news(expired) == ("Market buy of $250.00 AAPL expired", "info")
