"""The order form's checks: plain sentences per field, the server's refusals said before the review, and what a
stop order's review explains and warns of."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from components.order_checks import Fields, Means, NotANumberError, check, check_change, number, review_notes
from models.league import League
from models.order import OrderClass, OrderPublic
from services.leagues.rules import Limits
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
    dollars = check(order(unit="dollars", amount="100"), RICH, AAPL)  # a market order by dollars is notional
    assert (dollars.order.notional, dollars.order.quantity) == (Decimal("100"), None)
    assert (dollars.quantity, dollars.total) == (Decimal("0.999900"), Decimal("100"))  # estimated at the ask
    limit = check(order(order_type="limit", unit="dollars", amount="100", limit="80.00"), RICH, AAPL)
    assert (limit.order.quantity, limit.order.notional) == (Decimal("1.25"), None)  # only market orders are notional
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


def test_dollars_of_a_market_order_are_checked_as_an_amount():
    assert check(order(unit="dollars", amount="0.50"), RICH, AAPL).errors == {
        "quantity": "An order must be worth at least $1.00."
    }
    poor = Means(buying_power=Decimal("40"), held=Decimal("0"), available=Decimal("0"))
    assert check(order(unit="dollars", amount="50"), poor, AAPL).errors["quantity"].startswith("Not enough buying")
    sale = check(order(side="sell", unit="dollars", amount="50"), HOLDER, AAPL)  # $50 is 0.5 shares at the bid
    assert sale.errors == {"quantity": "You have 0.005 shares available to sell."}
    notes, _ = review_notes(check(order(unit="dollars", amount="25"), RICH, AAPL).order, AAPL)
    assert notes == [
        "It buys $25.00 of AAPL at the market price: the shares are worked out when it fills (to 6 decimal places), "
        "so it never costs more than $25.00."
    ]


def test_a_trailing_stop_sells_by_an_amount_or_a_percent_and_says_where_its_stop_starts():
    by_amount = check(order(side="sell", order_type="trailing_stop", amount="0.005", trail="5"), HOLDER, AAPL)
    assert (by_amount.order.trail_price, by_amount.order.trail_percent) == (Decimal("5"), None)
    notes, warnings = review_notes(by_amount.order, AAPL)
    assert notes[0] == "The stop starts at $95.00, $5.00 under AAPL's last price of $100.00."
    assert warnings == []
    by_percent = check(
        order(side="sell", order_type="trailing_stop", amount="0.005", trail="2.5", trail_unit="percent"), HOLDER, AAPL
    )
    assert (by_percent.order.trail_price, by_percent.order.trail_percent) == (None, Decimal("2.5"))
    assert review_notes(by_percent.order, AAPL)[0][0] == (
        "The stop starts at $97.50, 2.5% under AAPL's last price of $100.00."
    )


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"trail": ""}, {"trail": "Enter a trail price."}),
        ({"trail": "100"}, {"trail": "Trail by less than AAPL's price of $100.00: the stop would be at $0 or below."}),
        ({"trail": "60", "trail_unit": "percent"}, {"trail": "Trail by 0.1% to 50%."}),
        ({"trail": "2.555", "trail_unit": "percent"}, {"trail": "A percentage has at most 2 decimal places."}),
    ],
)
def test_a_trailing_stop_that_cannot_be_placed_is_said_in_words(typed, errors):
    fields = order(**{"side": "sell", "order_type": "trailing_stop", "amount": "0.005", "trail": "5"} | typed)
    assert check(fields, HOLDER, AAPL).errors == errors


def test_a_trailing_buy_follows_the_price_down_and_buys_when_it_turns():
    checked = check(order(order_type="trailing_stop", amount="2", trail="5"), RICH, AAPL)
    assert (checked.order.side, checked.order.trail_price, checked.total) == ("buy", Decimal("5"), Decimal("200.02"))
    assert review_notes(checked.order, AAPL)[0] == [
        "The stop starts at $105.00, $5.00 over AAPL's last price of $100.00.",
        "As AAPL sets new lows the stop falls, staying $5.00 over the lowest price; it never rises.",
        "When AAPL trades at the stop or higher, this becomes a market order to buy: it fills at the market price "
        "then, which can differ from the stop.",
    ]
    wide = check(order(order_type="trailing_stop", amount="2", trail="150"), RICH, AAPL)  # a buy's stop stays above 0
    assert wide.errors == {} and wide.order.trail_price == Decimal("150")


def test_a_buy_with_a_take_profit_and_a_stop_loss_is_a_bracket():
    wanted = check(order(amount="2", with_exits=True, take_profit="110.00", stop_loss="95.00"), RICH, AAPL).order
    assert wanted.order_class == OrderClass.BRACKET
    assert (wanted.take_profit.limit_price, wanted.stop_loss.stop_price) == (Decimal("110.00"), Decimal("95.00"))
    notes, _ = review_notes(wanted, AAPL)
    assert notes == [
        "Once this buy fills, two orders sell its shares: a take-profit at $110.00 or more, and a stop-loss that "
        "becomes a market order when AAPL trades at $95.00 or lower. When one of them fills, the other is canceled."
    ]


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"take_profit": "100.01"}, {"takeProfit": "The take-profit must be above your buy price of $100.01."}),
        ({"stop_loss": "100.01"}, {"stopLoss": "The stop-loss must be below your buy price of $100.01."}),
        (
            {"order_type": "limit", "limit": "90.00"},
            {"stopLoss": "The stop-loss must be below your limit of $90.00."},
        ),
        (
            {"take_profit": "", "stop_loss": ""},
            {"takeProfit": "Enter a take-profit price, a stop-loss price or both."},
        ),
        (
            {"take_profit": "x", "stop_loss": ""},
            {"takeProfit": "Enter the take-profit price as a number, like 187.25."},
        ),
        (
            {"order_type": "stop", "stop": "120.00"},
            {"form": "A take-profit and stop-loss go with a market or limit buy."},
        ),
        (
            {"unit": "dollars", "amount": "500"},
            {"quantity": "A buy with a take-profit and stop-loss is for a number of shares: choose Shares."},
        ),
    ],
)
def test_a_bracket_that_cannot_be_placed_is_said_in_words(typed, errors):
    fields = order(**{"amount": "2", "with_exits": True, "take_profit": "110.00", "stop_loss": "95.00"} | typed)
    assert check(fields, RICH, AAPL).errors == errors


@pytest.mark.parametrize(
    ("typed", "take", "loss", "note"),
    [
        ({"stop_loss": ""}, Decimal("110.00"), None, "a take-profit at $110.00 or more"),
        (
            {"take_profit": ""},
            None,
            Decimal("95.00"),
            "a stop-loss that becomes a market order when AAPL trades at $95.00 or lower",
        ),
    ],
)
def test_a_buy_with_one_exit_is_an_oto(typed, take, loss, note):
    fields = order(**{"amount": "2", "with_exits": True, "take_profit": "110.00", "stop_loss": "95.00"} | typed)
    wanted = check(fields, RICH, AAPL).order
    assert wanted.order_class == OrderClass.OTO
    assert (getattr(wanted.take_profit, "limit_price", None), getattr(wanted.stop_loss, "stop_price", None)) == (
        take,
        loss,
    )
    assert review_notes(wanted, AAPL)[0] == [f"Once this buy fills, one order sells its shares: {note}."]


SHAREHOLDER = Means(buying_power=Decimal("0"), held=Decimal("10"), available=Decimal("8"))


def test_shares_held_are_protected_with_an_oco_whatever_order_type_was_left_chosen():
    fields = order(side="sell", order_type="stop", amount="5", with_exits=True, take_profit="110.00", stop_loss="95.00")
    checked = check(fields, SHAREHOLDER, AAPL)
    wanted = checked.order
    assert (wanted.order_class, wanted.order_type, wanted.limit_price, wanted.stop_price) == (
        OrderClass.OCO,
        "limit",
        Decimal("110.00"),
        None,
    )
    assert (wanted.take_profit, wanted.stop_loss.stop_price, checked.total) == (None, Decimal("95.00"), Decimal("550"))
    assert review_notes(wanted, AAPL)[0] == [
        "Two orders sell these shares: a take-profit at $110.00 or more, and a stop-loss that becomes a market order "
        "when AAPL trades at $95.00 or lower. When one of them fills, the other is canceled."
    ]


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"take_profit": "99.99"}, {"takeProfit": "The take-profit must be above the bid of $99.99."}),
        ({"stop_loss": "99.99"}, {"stopLoss": "The stop-loss must be below the bid of $99.99."}),
        ({"stop_loss": ""}, {"stopLoss": "Enter a stop-loss price."}),
        ({"amount": "9"}, {"quantity": "You have 8 shares available to sell."}),
        ({"unit": "dollars", "amount": "500"}, {"quantity": "Protect a number of shares: choose Shares."}),
    ],
)
def test_an_oco_that_cannot_be_placed_is_said_in_words(typed, errors):
    fields = {"side": "sell", "amount": "5", "with_exits": True, "take_profit": "110.00", "stop_loss": "95.00"}
    assert check(order(**fields | typed), SHAREHOLDER, AAPL).errors == errors


def pending(**fields) -> OrderPublic:
    now = datetime.now(UTC)
    base = {
        "id": uuid.uuid4(),
        "account_id": uuid.uuid4(),
        "client_order_id": None,
        "symbol": "AAPL",
        "side": "buy",
        "order_type": "limit",
        "quantity": Decimal("2"),
        "notional": None,
        "limit_price": Decimal("90.00"),
        "stop_price": None,
        "trail_price": None,
        "trail_percent": None,
        "high_water_mark": None,
        "time_in_force": "day",
        "status": "pending",
        "order_class": "simple",
        "parent_id": None,
        "replaces": None,
        "replaced_by": None,
        "filled_quantity": Decimal("0"),
        "avg_fill_price": None,
        "created_at": now,
        "updated_at": now,
        "filled_at": None,
        "expires_at": None,
        "reject_reason": None,
    }
    return OrderPublic(**(base | fields))


def test_an_edit_sends_only_what_changed_and_says_what_is_wrong():
    limit = pending()
    change, errors = check_change(limit, quantity="3", limit="90.00")
    assert (change.model_dump(exclude_unset=True), errors) == ({"quantity": Decimal("3")}, {})
    assert check_change(limit, quantity="2", limit="90") == (
        None,
        {"form": "Change the shares or a price first: this is the order as it stands."},
    )
    assert check_change(limit, quantity="", limit="-1")[1] == {
        "quantity": "Enter how many shares to trade.",
        "limitPrice": "The limit price must be more than $0.",
    }
    leg = pending(side="sell", order_type="stop", limit_price=None, stop_price=Decimal("95"), parent_id=uuid.uuid4())
    change, _ = check_change(leg, quantity="99", stop="96.50")  # a leg's shares are its entry's: not changed
    assert change.model_dump(exclude_unset=True) == {"stop_price": Decimal("96.50")}
    trailing = pending(side="sell", order_type="trailing_stop", limit_price=None, trail_percent=Decimal("2.5"))
    change, _ = check_change(trailing, quantity="2", trail="3")
    assert change.model_dump(exclude_unset=True) == {"trail_percent": Decimal("3")}
    assert check_change(trailing, quantity="2", trail="80")[1] == {"trail": "Trail by 0.1% to 50%."}


def league_means(**rules) -> Means:
    """A league account with $10,000 and nothing held, in a league that runs through 2026 under these rules."""
    league = League(
        name="Econ 101",
        owner_id=uuid.uuid4(),
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2027, 1, 1, tzinfo=UTC),
        join_until=datetime(2027, 1, 1, tzinfo=UTC),
        starting_cash=Decimal("10000"),
        invite_code="ABCDEFGH",
        **rules,
    )
    limits = Limits(league=league, equity=Decimal("10000"), position=None, resting_buys=Decimal(0))
    return Means(buying_power=Decimal("10000"), held=Decimal(0), available=Decimal(0), league=limits)


DURING = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rules", "typed", "errors"),
    [
        ({"symbols": ["MSFT"]}, {}, {"form": "AAPL is not traded in this league."}),
        (
            {"order_types": ["market"]},
            {"order_type": "limit", "limit": "95"},
            {"form": "Limit orders are not allowed in this league."},
        ),
        ({"allow_fractional": False}, {"amount": "0.5"}, {"quantity": "This league trades whole shares only."}),
        (
            {"allow_fractional": False},
            {"unit": "dollars", "amount": "50"},
            {"quantity": "This league trades whole shares only."},
        ),
        ({"min_price": Decimal("150")}, {}, {"form": "This league buys only shares priced at $150 or more."}),
        (
            {"max_position_percent": Decimal("10")},
            {"amount": "11"},
            {"quantity": "A position may be at most 10% of the account's equity in this league ($1000.00)."},
        ),
    ],
)
def test_a_league_accounts_order_is_judged_by_the_leagues_rules_before_it_goes(rules, typed, errors):
    typed = {"amount": "1", **typed}
    checked = check(order(**typed), league_means(**rules), AAPL, DURING)
    assert checked.order is None and checked.errors == errors
    assert check(order(**typed), league_means(), AAPL, DURING).order is not None


def test_a_league_account_trades_only_while_its_league_runs():
    after = datetime(2027, 1, 2, tzinfo=UTC)
    checked = check(order(amount="1"), league_means(), AAPL, after)
    assert checked.errors == {"form": "This league account trades only while its league runs."}
