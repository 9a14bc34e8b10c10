"""What the order form checks before an order goes out, said in plain words, and what its review explains.

Pure: the form's fields as typed, the account's means and the latest quote in; the order (or one sentence per field
that is wrong), its estimate, and the review's notes and warnings out. A new order kind adds its fields to `Fields`,
its checks to `check` and its explanation to `review_notes`.
"""

import re
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from pydantic import ValidationError

from components.numbers import decimal_text, money, shares
from models.market import Quote
from models.order import MAX_PRICE, MAX_QUANTITY, OrderCreate, OrderType, Side, on_tick_grid
from models.types import QUANTITY
from services.trading import rules

SHARE = Decimal(1).scaleb(-QUANTITY)
# Digits with an optional point, thousands commas and a leading $ or minus: no exponents (1e3), no words (NaN).
PLAIN_NUMBER = re.compile(r"-?\$?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?")
# The name of each field a sentence can be about (the API's names); "form" is the whole order.
QUANTITY_FIELD, LIMIT_FIELD, STOP_FIELD, FORM = "quantity", "limitPrice", "stopPrice", "form"
NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


@dataclass(frozen=True)
class Fields:
    """The order form as the user left it: every value the text typed or the choice picked."""

    symbol: str
    side: str
    order_type: str
    unit: str  # "shares" or "dollars"
    amount: str
    limit: str = ""
    stop: str = ""
    time_in_force: str = "day"


@dataclass(frozen=True)
class Means:
    """What the account can trade with."""

    buying_power: Decimal
    held: Decimal  # shares of the symbol
    available: Decimal  # of those, not held back by resting sells


@dataclass
class Checked:
    order: OrderCreate | None = None  # None while anything is wrong
    errors: dict[str, str] = field(default_factory=dict)  # field → what is wrong with it
    quantity: Decimal | None = None
    price: Decimal | None = None  # the price the estimate uses
    total: Decimal | None = None  # the estimated cost (a buy) or proceeds (a sale)


class NotANumberError(ValueError):
    pass


def number(text: str | None) -> Decimal | None:
    """A number as people type it ("1,250.50", "$12"); None when empty; NotANumberError for anything else ("1e3")."""
    cleaned = re.sub(r"\s", "", str(text or ""))
    if not cleaned:
        return None
    if not PLAIN_NUMBER.fullmatch(cleaned) or not re.search(r"\d", cleaned):
        raise NotANumberError(cleaned)
    return Decimal(cleaned.replace(",", "").replace("$", ""))


def market_price(side: str, quote: Quote | None) -> Decimal | None:
    """What the market would fill at now: the ask for a buy, the bid for a sale."""
    if quote is None:
        return None
    return quote.ask if side == Side.BUY else quote.bid


def _price(name: str, text: str, errors: dict[str, str], key: str) -> Decimal | None:
    try:
        price = number(text)
    except NotANumberError:
        errors[key] = f"Enter the {name} price as a number, like 187.25."
        return None
    if price is None:
        errors[key] = f"Enter a {name} price."
    elif price <= 0:
        errors[key] = f"The {name} price must be more than $0."
    elif price > MAX_PRICE:
        errors[key] = f"Enter a {name} price up to {money(MAX_PRICE)}."
    else:
        try:
            return on_tick_grid(price)
        except ValueError:
            errors[key] = "A price has at most 2 decimal places (4 below $1)."
    return None


def _amount(fields: Fields, errors: dict[str, str]) -> Decimal | None:
    in_dollars = fields.unit == "dollars"
    try:
        amount = number(fields.amount)
    except NotANumberError:
        errors[QUANTITY_FIELD] = "Enter a number, like 10 or 2.5."
        return None
    if amount is None:
        errors[QUANTITY_FIELD] = "Enter an amount in dollars." if in_dollars else "Enter how many shares to trade."
    elif amount <= 0:
        errors[QUANTITY_FIELD] = "Enter an amount over $0." if in_dollars else "Enter more than 0 shares."
    elif in_dollars and -amount.as_tuple().exponent > 2:
        errors[QUANTITY_FIELD] = "Enter dollars and cents, like 25.50."
    elif not in_dollars and -amount.normalize().as_tuple().exponent > QUANTITY:
        errors[QUANTITY_FIELD] = f"Shares can have at most {QUANTITY} decimal places."
    else:
        return amount
    return None


def check(fields: Fields, means: Means, quote: Quote | None) -> Checked:
    """Everything wrong with the order, field by field, or the order as the API would receive it."""
    checked, errors = Checked(), {}
    kind = fields.order_type
    amount = _amount(fields, errors)
    stop = _price("stop", fields.stop, errors, STOP_FIELD) if kind in NEEDS_STOP else None
    limit = _price("limit", fields.limit, errors, LIMIT_FIELD) if kind in NEEDS_LIMIT else None
    # Estimated at the limit, else at the market (a stop fills at the market once it triggers).
    checked.price = limit if kind in NEEDS_LIMIT else market_price(fields.side, quote)
    checked.errors = errors
    if amount is None:
        return checked
    if fields.unit == "dollars":
        if checked.price is None:  # a limit's own sentence says what is missing
            if kind not in NEEDS_LIMIT:
                errors[QUANTITY_FIELD] = f"There is no price for {fields.symbol} yet: enter shares instead."
            return checked
        quantity = (amount / checked.price).quantize(SHARE, rounding=ROUND_DOWN)
    else:
        quantity = amount
    checked.quantity = quantity
    if checked.price is not None:
        checked.total = rules.cash_moved(fields.side, quantity, checked.price)
    if QUANTITY_FIELD not in errors:
        errors.update(_refusals(fields, means, quote, checked, stop, limit))
    if errors:
        return checked
    try:
        checked.order = OrderCreate(
            symbol=fields.symbol,
            side=fields.side,
            order_type=kind,
            quantity=quantity,
            limit_price=limit,
            stop_price=stop,
            time_in_force=fields.time_in_force if kind != OrderType.MARKET else "day",
        )
    except ValidationError as exc:  # what the checks above missed, said as the API would
        errors[FORM] = exc.errors()[0]["msg"].removeprefix("Value error, ")
    return checked


def _refusals(
    fields: Fields, means: Means, quote: Quote | None, checked: Checked, stop: Decimal | None, limit: Decimal | None
) -> dict[str, str]:
    """What the server would refuse about this quantity: checked here so that it is said before the review."""
    quantity = checked.quantity
    if quantity <= 0:
        return {QUANTITY_FIELD: "That is less than one millionth of a share: enter a larger amount."}
    if quantity > MAX_QUANTITY:
        return {QUANTITY_FIELD: f"One order can trade at most {decimal_text(MAX_QUANTITY)} shares."}
    if fields.side == Side.SELL and quantity > means.available:
        return {QUANTITY_FIELD: f"You have {shares(means.available)} available to sell."}
    if rules.worth_too_little(fields.side, quantity, limit or stop, quote, means.held):
        return {QUANTITY_FIELD: f"An order must be worth at least {money(rules.SMALLEST_ORDER)}."}
    if fields.side == Side.BUY and checked.total is not None and checked.total > means.buying_power:
        return {
            QUANTITY_FIELD: f"Not enough buying power: this costs about {money(checked.total)}, "
            f"you have {money(means.buying_power)}."
        }
    return {}


def review_notes(order: OrderCreate, quote: Quote | None) -> tuple[list[str], list[str]]:
    """What the review explains about how the order will fill, and what it warns of."""
    notes, warnings = [], []
    buy = order.side == Side.BUY
    if order.stop_price is not None:
        beyond = "or higher" if buy else "or lower"
        when = f"When {order.symbol} trades at {money(order.stop_price)} {beyond}, this becomes"
        if order.limit_price is None:
            notes.append(f"{when} a market order: it fills at the market price then, which can differ from the stop.")
            notes.append("The estimate uses today's market price.")
        else:
            limit_side = "or less" if buy else "or more"
            notes.append(f"{when} a limit order to {order.side} at {money(order.limit_price)} {limit_side}.")
        if quote is not None:
            at_once = quote.last >= order.stop_price if buy else quote.last <= order.stop_price
            if at_once:
                where = "at" if quote.last == order.stop_price else "above" if buy else "below"
                warnings.append(
                    f"{order.symbol} is at {money(quote.last)}, {where} your stop of {money(order.stop_price)}: "
                    "this order would trigger at once."
                )
    elif order.limit_price is not None:
        limit_side = "or less" if buy else "or more"
        notes.append(f"It fills only at {money(order.limit_price)} {limit_side}.")
    return notes, warnings
