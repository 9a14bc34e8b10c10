"""The money movements of trading, each applied to rows the caller has locked in its transaction.

Rounding rule (documented, tested): no trade creates money. A buy costs its notional rounded up to the cent,
a sale raises its notional rounded down; the cost basis of a position moves by exactly the cents paid, and a sale
removes basis in proportion to the shares sold (the whole basis when the position closes). Hence, to the cent and
at every step:
    cash + cost basis of all positions - realized P&L == the account's starting cash.
A buy reservation is rounded up to the cent so it always covers the fill it stands for.
"""

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from models.account import Account, LedgerEntry, LedgerKind, Position
from models.order import Order, OrderStatus, Side

CENT = Decimal("0.01")
STOP_COLLAR = Decimal("1.05")  # a stop buy without a limit reserves 5 % above its stop: it fills at the market
SMALLEST_ORDER = Decimal(1)  # dollars: an order worth less is refused (selling a whole position is not)


def cost(quantity: Decimal, price: Decimal) -> Decimal:
    """What a buy pays: rounded up, so the account never gets shares for less than they cost."""
    return (quantity * price).quantize(CENT, rounding=ROUND_CEILING)


def proceeds(quantity: Decimal, price: Decimal) -> Decimal:
    """What a sale raises: rounded down, so the account never gets more than the shares were worth."""
    return (quantity * price).quantize(CENT, rounding=ROUND_FLOOR)


def cash_moved(side: str, quantity: Decimal, price: Decimal) -> Decimal:
    return cost(quantity, price) if side == Side.BUY else proceeds(quantity, price)


def buy_reservation(order: Order, reference_price: Decimal | None = None) -> Decimal:
    """Cash a resting buy holds back: limit x quantity, or stop (or the market, for a queued market order) + 5 %."""
    limit = order.limit_price
    price = limit if limit is not None else (order.stop_price or reference_price) * STOP_COLLAR
    return (order.quantity * price).quantize(CENT, rounding=ROUND_CEILING)


def buying_power(account: Account) -> Decimal:
    return account.cash - account.reserved_cash


def available_shares(position: Position | None) -> Decimal:
    return position.quantity - position.reserved_quantity if position else Decimal(0)


def reserve(account: Account, position: Position | None, order: Order, amount: Decimal) -> None:
    """Hold back what a resting order may need: cash for a buy (`amount`), shares for a sell."""
    if order.side == Side.BUY:
        account.reserved_cash += amount
        order.reserved_cash = amount
    else:
        position.reserved_quantity += order.quantity - order.filled_quantity


def release(account: Account, position: Position | None, order: Order) -> None:
    """Give back what a resting order still holds (on fill, cancel, expiry or rejection)."""
    if order.side == Side.BUY:
        account.reserved_cash -= order.reserved_cash
        order.reserved_cash = Decimal(0)
    elif position is not None:
        position.reserved_quantity -= order.quantity - order.filled_quantity


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
