"""What the order form checks before an order goes out, said in plain words, and what its review explains.

Pure: the form's fields as typed, the account's means and the latest quote in; the order (or one sentence per field
that is wrong), its estimate, and the review's notes and warnings out. A new order kind adds its fields to `Fields`,
its checks to `check` and its explanation to `review_notes`. `check_change` does the same for the edit of a pending
order (a replace).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from pydantic import ValidationError

from components.numbers import decimal_text, money, shares
from models.market import Quote
from models.order import (
    MAX_PRICE,
    MAX_QUANTITY,
    Order,
    OrderClass,
    OrderCreate,
    OrderPublic,
    OrderReplace,
    OrderType,
    Side,
    StopLoss,
    TakeProfit,
    on_tick_grid,
)
from models.types import QUANTITY
from services.infra.errors import DomainError
from services.leagues import rules as league_rules
from services.trading import rules

SHARE = Decimal(1).scaleb(-QUANTITY)
# Digits with an optional point, thousands commas and a leading $ or minus: no exponents (1e3), no words (NaN).
PLAIN_NUMBER = re.compile(r"-?\$?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?")
# The name of each field a sentence can be about (the API's names); "form" is the whole order.
QUANTITY_FIELD, LIMIT_FIELD, STOP_FIELD, FORM = "quantity", "limitPrice", "stopPrice", "form"
TRAIL_FIELD, TAKE_PROFIT_FIELD, STOP_LOSS_FIELD = "trail", "takeProfit", "stopLoss"
NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)
WITH_EXITS = (OrderType.MARKET, OrderType.LIMIT)  # the entries a take-profit and stop-loss can follow
TRAIL_PERCENTS = (Decimal("0.1"), Decimal("50"))
AMOUNT_REFUSALS = ("POSITION_LIMIT", "VALIDATION_ERROR")  # a league's refusals that the amount can mend


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
    trail: str = ""  # how far a trailing stop follows the price
    trail_unit: str = "dollars"  # or "percent"
    # Exits: a buy's take-profit and/or stop-loss (a bracket with both, an OTO with one), or both on shares held
    # (a sell: an OCO, whose own limit is the take-profit).
    with_exits: bool = False
    take_profit: str = ""
    stop_loss: str = ""


@dataclass(frozen=True)
class Means:
    """What the account can trade with."""

    buying_power: Decimal
    held: Decimal  # shares of the symbol
    available: Decimal  # of those, not held back by resting sells
    league: league_rules.Limits | None = None  # a league account's: its league's rules judge the order too


@dataclass
class Checked:
    order: OrderCreate | None = None  # None while anything is wrong
    errors: dict[str, str] = field(default_factory=dict)  # field → what is wrong with it
    quantity: Decimal | None = None
    price: Decimal | None = None  # the price the estimate uses
    total: Decimal | None = None  # the estimated cost (a buy) or proceeds (a sale)
    notional: Decimal | None = None  # the dollars of a market order by amount, whose shares the fill works out


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


def _trail(fields: Fields, quote: Quote | None, errors: dict[str, str]) -> tuple[Decimal | None, Decimal | None]:
    """A trailing stop's (trail in dollars, trail in percent): one of them, the other None."""
    if fields.trail_unit != "percent":
        amount = _price("trail", fields.trail, errors, TRAIL_FIELD)
        if amount is not None and quote is not None and fields.side == Side.SELL and amount >= quote.last:
            errors[TRAIL_FIELD] = (
                f"Trail by less than {fields.symbol}'s price of {money(quote.last)}: the stop would be at $0 or below."
            )
            return None, None
        return amount, None
    try:
        percent = number(fields.trail)
    except NotANumberError:
        errors[TRAIL_FIELD] = "Enter the trail as a number, like 5 (percent)."
        return None, None
    low, high = TRAIL_PERCENTS
    if percent is None:
        errors[TRAIL_FIELD] = "Enter how far the stop trails, in percent."
    elif not low <= percent <= high:
        errors[TRAIL_FIELD] = f"Trail by {low}% to {high}%."
    elif -percent.as_tuple().exponent > 2:
        errors[TRAIL_FIELD] = "A percentage has at most 2 decimal places."
    else:
        return None, percent
    return None, None


def protects_shares(fields: Fields) -> bool:
    """Whether the form protects shares held with a take-profit and a stop-loss: an OCO, no order type of its own."""
    return fields.with_exits and fields.side == Side.SELL


def exit_prices(order: OrderCreate) -> tuple[Decimal | None, Decimal | None]:
    """An order's take-profit and stop-loss prices (an OCO's take-profit is its own limit)."""
    take = order.limit_price if order.order_class == OrderClass.OCO else None
    if order.take_profit is not None:
        take = order.take_profit.limit_price
    return take, order.stop_loss.stop_price if order.stop_loss is not None else None


def _misfits(fields: Fields) -> dict[str, str]:
    """Combinations the form offers but no order has, said in words (the server refuses them too)."""
    kind, buy = fields.order_type, fields.side == Side.BUY
    if not fields.with_exits:
        return {}
    if not buy:  # an OCO: the form asks no order type of its own
        return {QUANTITY_FIELD: "Protect a number of shares: choose Shares."} if fields.unit == "dollars" else {}
    if kind not in WITH_EXITS:
        return {FORM: "A take-profit and stop-loss go with a market or limit buy."}
    if fields.unit == "dollars" and kind == OrderType.MARKET:
        return {QUANTITY_FIELD: "A buy with a take-profit and stop-loss is for a number of shares: choose Shares."}
    return {}


def _exits(fields: Fields, entry: Decimal | None, errors: dict[str, str]) -> tuple[Decimal | None, Decimal | None]:
    """The take-profit and stop-loss prices, on either side of the entry's price (shares held: the market's). A
    buy may take one of them (an OTO); shares held are protected with both (an OCO)."""
    buy = fields.side == Side.BUY
    typed = {TAKE_PROFIT_FIELD: fields.take_profit.strip(), STOP_LOSS_FIELD: fields.stop_loss.strip()}
    if buy and not any(typed.values()):
        errors[TAKE_PROFIT_FIELD] = "Enter a take-profit price, a stop-loss price or both."
        return None, None
    asked = {key: not buy or bool(text) for key, text in typed.items()}  # a buy's untyped exit is left out
    take = _price("take-profit", fields.take_profit, errors, TAKE_PROFIT_FIELD) if asked[TAKE_PROFIT_FIELD] else None
    loss = _price("stop-loss", fields.stop_loss, errors, STOP_LOSS_FIELD) if asked[STOP_LOSS_FIELD] else None
    if entry is None:
        return take, loss
    at = "the bid" if not buy else "your limit" if fields.order_type == OrderType.LIMIT else "your buy price"
    if take is not None and take <= entry:
        errors[TAKE_PROFIT_FIELD] = f"The take-profit must be above {at} of {money(entry)}."
    if loss is not None and loss >= entry:
        errors[STOP_LOSS_FIELD] = f"The stop-loss must be below {at} of {money(entry)}."
    return take, loss


def check(fields: Fields, means: Means, quote: Quote | None, now: datetime | None = None) -> Checked:
    """Everything wrong with the order, field by field, or the order as the API would receive it; `now` is when
    a league account's league is judged running (required for one)."""
    checked, errors = Checked(), _misfits(fields)
    protecting = protects_shares(fields)
    kind = OrderType.LIMIT if protecting else fields.order_type
    typed_limit = kind in NEEDS_LIMIT and not protecting  # an OCO's limit is its take-profit
    amount = _amount(fields, errors)
    stop = _price("stop", fields.stop, errors, STOP_FIELD) if kind in NEEDS_STOP else None
    limit = _price("limit", fields.limit, errors, LIMIT_FIELD) if typed_limit else None
    trail_price, trail_percent = _trail(fields, quote, errors) if kind == OrderType.TRAILING_STOP else (None, None)
    # Estimated at the limit, else at the market (a stop fills at the market once it triggers).
    checked.price = limit if typed_limit else market_price(fields.side, quote)
    take, loss = _exits(fields, checked.price, errors) if fields.with_exits else (None, None)
    if protecting:  # estimated at the take-profit
        limit = checked.price = take
    checked.errors = errors
    if amount is None:
        return checked
    if fields.unit == "dollars":
        if checked.price is None:  # a limit's own sentence says what is missing
            if kind not in NEEDS_LIMIT:
                errors[QUANTITY_FIELD] = f"There is no price for {fields.symbol} yet: enter shares instead."
            return checked
        quantity = (amount / checked.price).quantize(SHARE, rounding=ROUND_DOWN)
        if kind == OrderType.MARKET:  # the fill works out the shares: never more than the amount
            checked.notional = amount
    else:
        quantity = amount
    checked.quantity = quantity
    if checked.notional is not None:
        checked.total = checked.notional
    elif checked.price is not None:
        checked.total = rules.cash_moved(fields.side, quantity, checked.price)
    if QUANTITY_FIELD not in errors and FORM not in errors:  # a combination no order has: that is the news
        errors.update(_refusals(fields, means, quote, checked, stop, limit))
    if errors:
        return checked
    try:
        checked.order = OrderCreate(
            symbol=fields.symbol,
            side=fields.side,
            order_type=kind,
            quantity=None if checked.notional is not None else quantity,
            notional=checked.notional,
            limit_price=limit,
            stop_price=stop,
            trail_price=trail_price,
            trail_percent=trail_percent,
            time_in_force=fields.time_in_force if kind != OrderType.MARKET else "day",
            order_class=_order_class(fields, take, loss),
            take_profit=TakeProfit(limit_price=take) if take is not None and not protecting else None,
            stop_loss=StopLoss(stop_price=loss) if loss is not None else None,
        )
    except ValidationError as exc:  # what the checks above missed, said as the API would
        errors[FORM] = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return checked
    if means.league is not None:
        try:
            means.league.refuse(checked.order, quote, now)
        except DomainError as exc:  # the league's own words, under the amount when the amount is the trouble
            errors[QUANTITY_FIELD if exc.code in AMOUNT_REFUSALS else FORM] = exc.message
            checked.order = None
    return checked


def _order_class(fields: Fields, take: Decimal | None, loss: Decimal | None) -> OrderClass:
    if not fields.with_exits:
        return OrderClass.SIMPLE
    if fields.side == Side.SELL:
        return OrderClass.OCO
    return OrderClass.BRACKET if take is not None and loss is not None else OrderClass.OTO


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
    if checked.notional is not None:  # worth its amount
        too_little = checked.notional < rules.SMALLEST_ORDER
    else:
        too_little = rules.worth_too_little(fields.side, quantity, limit or stop, quote, means.held)
    if too_little:
        return {QUANTITY_FIELD: f"An order must be worth at least {money(rules.SMALLEST_ORDER)}."}
    if fields.side == Side.BUY and checked.total is not None and checked.total > means.buying_power:
        return {
            QUANTITY_FIELD: f"Not enough buying power: this costs about {money(checked.total)}, "
            f"you have {money(means.buying_power)}."
        }
    return {}


def trail_text(trail_price: Decimal | None, trail_percent: Decimal | None) -> str:
    """How far a trailing stop follows the price: "$5.00" or "2.5%"."""
    return money(trail_price) if trail_price is not None else f"{decimal_text(trail_percent)}%"


def _trailing_notes(order: OrderCreate, quote: Quote | None) -> list[str]:
    symbol, trail = order.symbol, trail_text(order.trail_price, order.trail_percent)
    sell = order.side == Side.SELL
    notes = []
    if quote is not None:
        starting = Order(
            side=order.side,
            high_water_mark=quote.last,
            trail_price=order.trail_price,
            trail_percent=order.trail_percent,
        )
        start, last = money(rules.trailing_stop(starting)), money(quote.last)
        notes.append(
            f"The stop starts at {start}, {trail} {'under' if sell else 'over'} {symbol}'s last price of {last}."
        )
    if sell:
        follows = f"As {symbol} sets new highs the stop rises, staying {trail} under the highest price; it never falls."
    else:
        follows = f"As {symbol} sets new lows the stop falls, staying {trail} over the lowest price; it never rises."
    notes.append(follows)
    notes.append(
        f"When {symbol} trades at the stop {'or lower' if sell else 'or higher'}, this becomes a market order to "
        f"{order.side}: it fills at the market price then, which can differ from the stop."
    )
    return notes


def _notional_note(order: OrderCreate) -> str:
    amount = money(order.notional)
    if order.side == Side.BUY:
        return (
            f"It buys {amount} of {order.symbol} at the market price: the shares are worked out when it fills "
            f"(to 6 decimal places), so it never costs more than {amount}."
        )
    return (
        f"It sells {amount} of {order.symbol} at the market price: the shares are worked out when it fills "
        f"(to 6 decimal places), so it never sells more than {amount} worth."
    )


def _exits_note(order: OrderCreate) -> str:
    """What a bracket's, an OTO's or an OCO's exits do."""
    take, loss = exit_prices(order)
    exits = []
    if take is not None:
        exits.append(f"a take-profit at {money(take)} or more")
    if loss is not None:
        exits.append(f"a stop-loss that becomes a market order when {order.symbol} trades at {money(loss)} or lower")
    if order.order_class == OrderClass.OCO:
        return (
            f"Two orders sell these shares: {exits[0]}, and {exits[1]}. When one of them fills, the other is canceled."
        )
    if len(exits) == 1:
        return f"Once this buy fills, one order sells its shares: {exits[0]}."
    return (
        f"Once this buy fills, two orders sell its shares: {exits[0]}, and {exits[1]}. When one of them fills, the "
        "other is canceled."
    )


def review_notes(order: OrderCreate, quote: Quote | None) -> tuple[list[str], list[str]]:
    """What the review explains about how the order will fill, and what it warns of."""
    notes, warnings = [], []
    buy = order.side == Side.BUY
    if order.notional is not None:
        notes.append(_notional_note(order))
    if order.order_type == OrderType.TRAILING_STOP:
        notes.extend(_trailing_notes(order, quote))
    elif order.stop_price is not None:
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
    elif order.limit_price is not None and order.order_class != OrderClass.OCO:  # an OCO's limit is an exit
        limit_side = "or less" if buy else "or more"
        notes.append(f"It fills only at {money(order.limit_price)} {limit_side}.")
    if order.order_class != OrderClass.SIMPLE:
        notes.append(_exits_note(order))
    return notes, warnings


def check_change(
    order: OrderPublic, *, quantity: str, limit: str = "", stop: str = "", trail: str = "", quote: Quote | None = None
) -> tuple[OrderReplace | None, dict[str, str]]:
    """An edit of a pending order (a replace): what changed, checked as a new order's fields are, or one sentence
    per field that is wrong. A leg's shares are its entry's: they do not change."""
    percent = order.trail_percent is not None
    fields = Fields(
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        unit="shares",
        amount=quantity,
        trail=trail,
        trail_unit="percent" if percent else "dollars",
    )
    errors: dict[str, str] = {}
    typed: dict[str, Decimal | None] = {}
    if order.parent_id is None and order.quantity is not None:
        typed["quantity"] = _amount(fields, errors)
    if order.order_type in NEEDS_LIMIT:
        typed["limit_price"] = _price("limit", limit, errors, LIMIT_FIELD)
    if order.order_type in NEEDS_STOP:
        typed["stop_price"] = _price("stop", stop, errors, STOP_FIELD)
    if order.order_type == OrderType.TRAILING_STOP:
        trail_price, trail_percent = _trail(fields, quote, errors)
        typed["trail_percent" if percent else "trail_price"] = trail_percent if percent else trail_price
    if errors:
        return None, errors
    changed = {name: value for name, value in typed.items() if value != getattr(order, name)}
    if not changed:
        return None, {FORM: "Change the shares or a price first: this is the order as it stands."}
    return OrderReplace(**changed), {}
