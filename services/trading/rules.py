"""The rules of trading, pure: given the rows of an account (as the store read them, locked) and the market, decide
a change — a placement, a fill, a reservation, a cancel, an expiry, a reset — by changing those rows and returning
the new ones. No I/O here: services.trading.store writes what the rules decided.

Rounding rule (documented, tested): no trade creates money. A buy costs its notional rounded up to the cent,
a sale raises its notional rounded down; the cost basis of a position moves by exactly the cents paid, and a sale
removes basis in proportion to the shares sold (the whole basis when the position closes). Hence, to the cent and
at every step:
    cash + cost basis of all positions - realized P&L == the account's starting cash.
A buy reservation is rounded up to the cent so it always covers the fill it stands for.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from sqlmodel import SQLModel

from models.account import Account, LedgerEntry, LedgerKind, Position
from models.market import Quote
from models.order import (
    IMMEDIATE,
    Order,
    OrderClass,
    OrderCreate,
    OrderReplace,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from models.types import QUANTITY, tick_size
from services.infra.errors import DomainError
from services.market.clock import MarketClock

CENT = Decimal("0.01")
SHARE_UNIT = Decimal(1).scaleb(-QUANTITY)  # the smallest fraction of a share traded
STOP_COLLAR = Decimal("1.05")  # a stop buy without a limit reserves 5 % above its stop: it fills at the market
# (and a notional sell reserves 5 % more shares than its amount buys at the bid: it sells at the market)
SMALLEST_ORDER = Decimal(1)  # dollars: an order worth less is refused (selling a whole position is not)


def cost(quantity: Decimal, price: Decimal) -> Decimal:
    """What a buy pays: rounded up, so the account never gets shares for less than they cost."""
    return (quantity * price).quantize(CENT, rounding=ROUND_CEILING)


def proceeds(quantity: Decimal, price: Decimal) -> Decimal:
    """What a sale raises: rounded down, so the account never gets more than the shares were worth."""
    return (quantity * price).quantize(CENT, rounding=ROUND_FLOOR)


def cash_moved(side: str, quantity: Decimal, price: Decimal) -> Decimal:
    return cost(quantity, price) if side == Side.BUY else proceeds(quantity, price)


def shares_for(notional: Decimal, price: Decimal) -> Decimal:
    """The shares a notional order trades at `price`: rounded down, so it never spends or raises more than it says."""
    return (notional / price).quantize(SHARE_UNIT, rounding=ROUND_FLOOR)


def buy_reservation(order: Order, reference_price: Decimal | None = None) -> Decimal:
    """Cash a resting buy holds back: limit x quantity, or stop (or the market, for a queued market order) + 5 %;
    a notional buy, its amount."""
    if order.notional is not None:
        return order.notional
    limit = order.limit_price
    price = limit if limit is not None else (order.stop_price or reference_price) * STOP_COLLAR
    return (order.quantity * price).quantize(CENT, rounding=ROUND_CEILING)


def buying_power(account: Account) -> Decimal:
    return account.cash - account.reserved_cash


def available_shares(position: Position | None) -> Decimal:
    return position.quantity - position.reserved_quantity if position else Decimal(0)


def sell_reservation(order: Order, position: Position | None, bid: Decimal | None) -> Decimal:
    """Shares a resting sell holds back: its quantity; a notional sell, what its amount could sell for at 5 %
    under the bid, at most the shares available."""
    if order.notional is None:
        return order.quantity
    wanted = (order.notional * STOP_COLLAR / bid).quantize(SHARE_UNIT, rounding=ROUND_CEILING)
    return min(wanted, available_shares(position))


def reserve(account: Account, position: Position | None, order: Order, amount: Decimal) -> None:
    """Hold back what a resting order may need: `amount` of cash for a buy, of shares for a sell."""
    if order.side == Side.BUY:
        account.reserved_cash += amount
        order.reserved_cash = amount
    else:
        position.reserved_quantity += amount
        order.reserved_quantity = amount


def release(account: Account, position: Position | None, order: Order) -> None:
    """Give back what a resting order still holds (on fill, cancel, expiry or rejection)."""
    if order.side == Side.BUY:
        account.reserved_cash -= order.reserved_cash
        order.reserved_cash = Decimal(0)
    elif position is not None:
        position.reserved_quantity -= order.reserved_quantity
        order.reserved_quantity = Decimal(0)


def fill(account: Account, position: Position, order: Order, price: Decimal, now: datetime) -> list[LedgerEntry]:
    """Execute the whole order at `price`; the caller has checked buying power or shares and released reservations."""
    quantity = order.quantity - order.filled_quantity
    amount = cash_moved(order.side, quantity, price)
    if order.side == Side.BUY:
        account.cash -= amount
        position.quantity += quantity
        position.cost_basis += amount
        entry = LedgerEntry(
            account_id=account.id, amount=-amount, kind=LedgerKind.BUY, order_id=order.id, created_at=now
        )
    else:
        removed = (
            position.cost_basis
            if quantity == position.quantity
            else (position.cost_basis * quantity / position.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        )
        account.cash += amount
        position.quantity -= quantity
        position.cost_basis -= removed
        position.realized_pnl += amount - removed
        entry = LedgerEntry(
            account_id=account.id, amount=amount, kind=LedgerKind.SELL, order_id=order.id, created_at=now
        )
    order.filled_quantity = order.quantity
    order.avg_fill_price = price
    order.status = OrderStatus.FILLED
    order.filled_at = order.updated_at = account.updated_at = position.updated_at = now
    return [entry]


def trailing_stop(order: Order) -> Decimal:
    """Where a trailing stop stands for its high-water mark: a sell's below the high, rounded down to the tick;
    a buy's above the low, rounded up."""
    mark, sell = order.high_water_mark, order.side == Side.SELL
    if order.trail_price is not None:
        stop = mark - order.trail_price if sell else mark + order.trail_price
    else:
        stop = mark * (1 - order.trail_percent / 100 if sell else 1 + order.trail_percent / 100)
    return stop.quantize(tick_size(stop), rounding=ROUND_FLOOR if sell else ROUND_CEILING)


def follow(order: Order, last: Decimal) -> bool:
    """A trailing stop not yet triggered follows a better last price (higher for a sell, lower for a buy):
    the mark moves, and the stop with it, only in the trader's favour. True if they moved."""
    mark = order.high_water_mark
    if order.triggered_at is not None or not (last > mark if order.side == Side.SELL else last < mark):
        return False
    order.high_water_mark = last
    order.stop_price = trailing_stop(order)
    return True


# -- order classes: an entry and its exit legs, or an OCO's two halves ------------------------------------------
#
# A group is the orders of one class sharing a parent: a bracket's or an OTO's entry with its legs (held until the
# entry fills), or an OCO (the take-profit) with its stop-loss leg. Its exit orders sell the same shares, reserved
# once between them (on one of them), and end together: when one fills or is canceled, the others are canceled in
# the same transaction, so at most one of them fills and none ever lacks its shares.

ACTIVE = (OrderStatus.PENDING, OrderStatus.HELD)


def is_entry(order: Order) -> bool:
    """A bracket's or an OTO's entry: the buy whose fill sets its legs resting."""
    return order.parent_id is None and order.order_class in (OrderClass.BRACKET, OrderClass.OTO)


def legs_of(order: Order, group: list[Order]) -> list[Order]:
    return [o for o in group if o.parent_id == order.id]


def other_exits(order: Order, group: list[Order]) -> list[Order]:
    """The exit orders of `order`'s group still active besides it (none for an entry)."""
    if is_entry(order):
        return []
    return [o for o in group if o.id != order.id and o.status in ACTIVE and not is_entry(o)]


def _legs(wanted: OrderCreate, order: Order) -> list[Order]:
    """A new order's exit legs: a take-profit limit and a stop-loss stop (or stop-limit) selling its shares."""
    status = OrderStatus.PENDING if wanted.order_class == OrderClass.OCO else OrderStatus.HELD
    common = {
        "account_id": order.account_id,
        "symbol": order.symbol,
        "side": Side.SELL,
        "quantity": order.quantity,
        "time_in_force": order.time_in_force,
        "expires_at": order.expires_at,
        "status": status,
        "order_class": order.order_class,
        "parent_id": order.id,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    legs = []
    if wanted.take_profit is not None:
        legs.append(Order(order_type=OrderType.LIMIT, limit_price=wanted.take_profit.limit_price, **common))
    if (loss := wanted.stop_loss) is not None:
        kind = OrderType.STOP if loss.limit_price is None else OrderType.STOP_LIMIT
        legs.append(Order(order_type=kind, stop_price=loss.stop_price, limit_price=loss.limit_price, **common))
    return legs


def _refuse_exits_on_the_wrong_side(wanted: OrderCreate, quote: Quote | None) -> None:
    """A take-profit sells above the entry's price (its limit, or the ask for a market entry), a stop-loss below."""
    entry = wanted.limit_price if wanted.limit_price is not None else quote.ask
    problems = []
    if wanted.take_profit is not None and wanted.take_profit.limit_price <= entry:
        problems.append({"field": "takeProfit.limitPrice", "message": f"must be above the entry's price, {entry}"})
    if wanted.stop_loss is not None and wanted.stop_loss.stop_price >= entry:
        problems.append({"field": "stopLoss.stopPrice", "message": f"must be below the entry's price, {entry}"})
    if problems:
        raise DomainError("VALIDATION_ERROR", "The exit legs must be on either side of the entry's price.", problems)


def activate(position: Position, legs: list[Order], now: datetime) -> None:
    """The entry filled: its legs rest, selling the shares it bought, reserved once (on the first leg)."""
    for leg in legs:
        leg.status, leg.updated_at = OrderStatus.PENDING, now
    position.reserved_quantity += legs[0].quantity
    legs[0].reserved_quantity = legs[0].quantity


def end_group(
    account: Account, position: Position | None, order: Order, status: OrderStatus, now: datetime, group: list[Order]
) -> None:
    """End an order without a fill, and with it its legs (an entry's held ones) or the other exits of its group."""
    end(account, position, order, status, now)
    for other in [*legs_of(order, group), *other_exits(order, group)]:
        if other.status in ACTIVE:
            end(account, position, other, status, now)


# -- decisions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    """What an order meets: the latest quote of its symbol (None before the first), whether the feed is live, and
    the clock of trading hours."""

    quote: Quote | None
    live: bool
    clock: MarketClock


def execution_price(order: Order, quote: Quote, now: datetime) -> Decimal | None:
    """The price `order` executes at against `quote` now, or None while it must rest.

    A stop whose trigger the last price reaches becomes a market (stop) or limit (stop_limit) order, which
    is recorded on the order as `triggered_at`.
    """
    if order.stop_price is not None and order.triggered_at is None:
        reached = quote.last >= order.stop_price if order.side == Side.BUY else quote.last <= order.stop_price
        if not reached:
            return None
        order.triggered_at = now
    price = quote.ask if order.side == Side.BUY else quote.bid
    if order.limit_price is None:
        return price
    marketable = price <= order.limit_price if order.side == Side.BUY else price >= order.limit_price
    return price if marketable else None


def expiry(time_in_force: str, clock: MarketClock, now: datetime) -> datetime | None:
    """A day order lives until the close of the session it is placed in (the next one, outside hours); ioc and
    fok orders never rest."""
    if time_in_force != TimeInForce.DAY:
        return None
    return clock.session(clock.trading_day(clock.next_open(now)))[1]


def worth_too_little(
    side: Side, quantity: Decimal, price: Decimal | None, quote: Quote | None, held: Decimal | None
) -> bool:
    """Whether an order is worth under $1, valued at `price` (its limit, else its stop), else at the market; an
    order selling the whole position (`held`) never is. The order form asks this too, before sending."""
    if side == Side.SELL and held is not None and quantity == held:
        return False
    if price is None and quote is not None:
        price = quote.ask if side == Side.BUY else quote.bid
    return price is not None and quantity * price < SMALLEST_ORDER


def _refuse_if_too_small(wanted: OrderCreate, quote: Quote | None, position: Position | None) -> None:
    if wanted.quantity is None:  # a notional order is worth its amount, at least $1 by its own check
        return
    held = position.quantity if position is not None else None
    if worth_too_little(wanted.side, wanted.quantity, wanted.limit_price or wanted.stop_price, quote, held):
        raise DomainError(
            "VALIDATION_ERROR",
            f"An order must be worth at least ${SMALLEST_ORDER}.",
            [{"field": "quantity", "message": f"the order is worth less than ${SMALLEST_ORDER}"}],
        )


def place(
    wanted: OrderCreate, account: Account, position: Position | None, market: Market, now: datetime
) -> list[SQLModel]:
    """A new order in `account`: filled at once against a live quote when it can, else resting with what it
    reserves; the refusals are DomainErrors. Returns the new rows, the order first."""
    quote, is_open = market.quote, market.clock.is_open(now)
    if wanted.order_type == OrderType.MARKET and (quote is None or (is_open and not market.live)):
        raise DomainError("NO_QUOTE", f"There is no live quote for {wanted.symbol} to fill a market order against.")
    if wanted.order_type == OrderType.TRAILING_STOP and quote is None:
        raise DomainError("NO_QUOTE", f"There is no quote for {wanted.symbol} to trail a stop from.")
    if wanted.side == Side.SELL:
        _refuse_if_short(wanted, position, quote)
    _refuse_if_too_small(wanted, quote, position)
    if wanted.order_class in (OrderClass.BRACKET, OrderClass.OTO):
        _refuse_exits_on_the_wrong_side(wanted, quote)
    order = Order(
        account_id=account.id,
        client_order_id=wanted.client_order_id,
        symbol=wanted.symbol,
        side=wanted.side,
        order_type=wanted.order_type,
        quantity=wanted.quantity,
        notional=wanted.notional,
        limit_price=wanted.limit_price,
        stop_price=wanted.stop_price,
        trail_price=wanted.trail_price,
        trail_percent=wanted.trail_percent,
        time_in_force=wanted.time_in_force,
        order_class=wanted.order_class,
        expires_at=expiry(wanted.time_in_force, market.clock, now),
        created_at=now,
        updated_at=now,
    )
    legs = _legs(wanted, order)
    if order.order_type == OrderType.TRAILING_STOP:
        _start_trailing(order, quote.last)
    # Only a live quote fills at once; against a stale one even a marketable limit rests for the engine.
    price = execution_price(order, quote, now) if quote is not None and market.live and is_open else None
    if price is None:
        if wanted.time_in_force in IMMEDIATE:  # it cannot execute at once, so it never rests
            order.status = OrderStatus.CANCELED
            return [order]
        if wanted.side == Side.BUY:
            amount = buy_reservation(order, quote.ask if quote else None)
            if amount > buying_power(account):
                raise DomainError("INSUFFICIENT_FUNDS", "Not enough buying power to reserve for this order.")
        else:
            amount = sell_reservation(order, position, quote.bid if quote else None)
        reserve(account, position, order, amount)
        return [order, *legs]
    if order.notional is not None:
        order.quantity = _notional_shares(order.notional, price)
    if wanted.side == Side.BUY and cost(order.quantity, price) > buying_power(account):
        raise DomainError("INSUFFICIENT_FUNDS", "Not enough buying power for this order.")
    opened = [] if position is not None else [Position(account_id=account.id, symbol=wanted.symbol)]
    position = position or opened[0]
    entries = fill(account, position, order, price, now)
    if is_entry(order):
        activate(position, legs, now)
    else:  # an OCO whose take-profit filled at once
        for leg in legs:
            leg.status = OrderStatus.CANCELED
    return [order, *legs, *opened, *entries]


def _start_trailing(order: Order, last: Decimal) -> None:
    """A trailing stop starts from the last price; a sell's trail must leave its stop above zero."""
    order.high_water_mark = last
    order.stop_price = trailing_stop(order)
    if order.stop_price <= 0:
        raise DomainError(
            "VALIDATION_ERROR",
            "The trail is wider than the price: the stop would be at or below zero.",
            [{"field": "trailPrice", "message": f"must be below the last price, {last}"}],
        )


def _refuse_if_short(wanted: OrderCreate, position: Position | None, quote: Quote | None) -> None:
    """A sell needs the shares it sells, unreserved; a notional one, what its amount buys at the bid (and at
    least a millionth of a share)."""
    available = available_shares(position)
    needed = wanted.quantity if wanted.notional is None else _notional_shares(wanted.notional, quote.bid)
    if available < needed:
        raise DomainError("INSUFFICIENT_SHARES", f"You have {available} shares to sell.")


def _notional_shares(notional: Decimal, price: Decimal) -> Decimal:
    shares = shares_for(notional, price)
    if shares == 0:
        raise DomainError(
            "VALIDATION_ERROR",
            "The amount trades less than a millionth of a share.",
            [{"field": "notional", "message": "is too small for a millionth of a share"}],
        )
    return shares


def try_fill(
    account: Account,
    position: Position | None,
    order: Order,
    quote: Quote,
    now: datetime,
    mark: Decimal | None = None,
    group: list[Order] = (),
) -> list[SQLModel] | None:
    """A resting order meets a quote: None while it rests (a stop_limit whose stop fired now rests as a limit,
    `triggered_at` set; a trailing stop has followed `mark`, the best price the engine saw, and the quote), else
    the new rows of its fill, or none if it is rejected: a stop buy whose market gapped past its 5 % collar.
    `group` holds the order's legs or fellow exits: an entry's fill sets its legs resting, an exit's fill
    cancels the others; a rejected entry takes its legs with it."""
    if order.order_type == OrderType.TRAILING_STOP:
        for price in (mark, quote.last):
            if price is not None:
                follow(order, price)
    price = execution_price(order, quote, now)
    if price is None:
        return None
    for other in other_exits(order, group):  # first: their reservation is the shares this one sells
        end(account, position, other, OrderStatus.CANCELED, now)
    if order.notional is not None:  # a sell sells no more than it reserved
        quantity = shares_for(order.notional, price)
        order.quantity = quantity if order.side == Side.BUY else min(quantity, order.reserved_quantity)
    release(account, position, order)
    if order.quantity == 0:
        order.status, order.updated_at = OrderStatus.REJECTED, now
        order.reject_reason = "The amount trades less than a millionth of a share at this price."
        order.quantity = None
        return []
    if order.side == Side.BUY and cost(order.quantity, price) > buying_power(account):
        order.status, order.updated_at = OrderStatus.REJECTED, now
        order.reject_reason = "The price moved past what was reserved for this order."
        for leg in legs_of(order, group):
            end(account, position, leg, OrderStatus.CANCELED, now)
        return []
    opened = [] if position is not None else [Position(account_id=account.id, symbol=order.symbol)]
    position = position or opened[0]
    entries = fill(account, position, order, price, now)
    if is_entry(order):
        activate(position, legs_of(order, group), now)
    return [*opened, *entries]


_KEPT = (  # what a replacement keeps of the order it replaces, unless changed
    "symbol",
    "side",
    "order_type",
    "quantity",
    "notional",
    "limit_price",
    "stop_price",
    "trail_price",
    "trail_percent",
    "time_in_force",
)


def replacement(old: Order, change: OrderReplace, group: list[Order]) -> OrderCreate:
    """The order that would replace `old` (pending, and not a parent with active legs) once `change` is applied,
    checked like a new order (the fields named as sent)."""
    if old.status != OrderStatus.PENDING or any(leg.status in ACTIVE for leg in legs_of(old, group)):
        what = "a parent with active legs" if old.status == OrderStatus.PENDING else old.status
        raise DomainError("ORDER_NOT_CANCELABLE", f"This order is {what} and cannot be replaced.")
    return _replacement(old, change)


def replace(
    old: Order,
    wanted: OrderCreate,
    account: Account,
    position: Position | None,
    group: list[Order],
    market: Market,
    now: datetime,
) -> list[SQLModel]:
    """Swap a pending order for `wanted` (its `replacement`), atomically: the old one is `replaced` and what it
    reserved moves to the new one, which is placed like any new order (and may fill at once). An active leg keeps
    its place in its group: same shares (the group's reservation stays where it is, now on the new leg), new
    prices; it rests, and the engine fills it if the market already reaches it. Returns the new rows, the new
    order first."""
    if old.parent_id is None:
        end(account, position, old, OrderStatus.REPLACED, now)
        rows = place(wanted, account, position, market, now)
    else:
        misfits = [("quantity", "cannot change on a leg")] if wanted.quantity != old.quantity else []
        if wanted.time_in_force in IMMEDIATE:
            misfits.append(("timeInForce", "a leg is day or gtc"))
        if misfits:
            details = [{"field": name, "message": message} for name, message in misfits]
            raise DomainError("VALIDATION_ERROR", "A leg sells its entry's shares until it fills.", details)
        rows = [_moved_leg(old, wanted, market.clock, now)]
        old.status, old.reserved_quantity, old.updated_at = OrderStatus.REPLACED, Decimal(0), now
    rows[0].replaces, old.replaced_by = old.id, rows[0].id
    return rows


def _replacement(old: Order, change: OrderReplace) -> OrderCreate:
    fields = {to_camel(name): getattr(old, name) for name in _KEPT}
    if old.order_type == OrderType.TRAILING_STOP:  # its stop is where it trailed to, not one it was given
        del fields["stopPrice"]
    fields.update({to_camel(name): value for name, value in change.model_dump(exclude_unset=True).items()})
    try:
        return OrderCreate.model_validate(fields)
    except ValidationError as exc:
        details = [
            {"field": (e.get("ctx") or {}).get("field") or ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise DomainError("VALIDATION_ERROR", "The order as changed is not valid.", details) from None


def _moved_leg(old: Order, wanted: OrderCreate, clock: MarketClock, now: datetime) -> Order:
    return Order(
        account_id=old.account_id,
        symbol=old.symbol,
        side=old.side,
        order_type=old.order_type,
        quantity=old.quantity,
        client_order_id=wanted.client_order_id,
        limit_price=wanted.limit_price,
        stop_price=wanted.stop_price,
        time_in_force=wanted.time_in_force,
        order_class=old.order_class,
        parent_id=old.parent_id,
        reserved_quantity=old.reserved_quantity,
        expires_at=expiry(wanted.time_in_force, clock, now),
        created_at=now,
        updated_at=now,
    )


def end(account: Account, position: Position | None, order: Order, status: OrderStatus, now: datetime) -> None:
    """End a resting order without a fill (canceled, expired), giving back what it holds."""
    release(account, position, order)
    order.status, order.updated_at = status, now


def end_all(account: Account, positions: list[Position], resting: list[Order], now: datetime) -> None:
    """Cancel every resting order of the account."""
    held = {p.symbol: p for p in positions}
    for order in resting:
        end(account, held.get(order.symbol), order, OrderStatus.CANCELED, now)


def reset(account: Account, now: datetime) -> LedgerEntry:
    """Cash back to the starting cash (the caller has ended the resting orders and removes the positions); the
    ledger entry records the difference, and the account's history starts again from it."""
    entry = LedgerEntry(
        account_id=account.id, amount=account.starting_cash - account.cash, kind=LedgerKind.RESET, created_at=now
    )
    account.cash, account.updated_at = account.starting_cash, now
    return entry


def settle(account: Account, position: Position, price: Decimal, now: datetime) -> LedgerEntry:
    """Sell the whole position at `price` without an order (a league's end; the caller has ended the resting
    orders, so nothing is reserved): the proceeds round down, the whole cost basis goes, the difference is realized."""
    amount = proceeds(position.quantity, price)
    account.cash += amount
    position.realized_pnl += amount - position.cost_basis
    position.quantity, position.cost_basis = Decimal(0), Decimal(0)
    account.updated_at = position.updated_at = now
    return LedgerEntry(account_id=account.id, amount=amount, kind=LedgerKind.SETTLEMENT, created_at=now)
