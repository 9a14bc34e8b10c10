"""Reconciliation: the balances kept on accounts and positions, checked against what they summarise.

The services update each running total (cash, reservations) in the same transaction as the rows it
summarises (ledger entries, resting orders). Recomputing the totals with grouped SQL aggregates catches
any drift; an empty answer means the books agree. Sums go through the column types, so they come back
as exact decimals on PostgreSQL and SQLite alike.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, type_coerce
from sqlmodel import Session, select

from models.account import Account, LedgerEntry, Position
from models.order import Order, OrderStatus, Side
from models.types import Money, Quantity

ZERO = Decimal(0)


@dataclass(frozen=True)
class Discrepancy:
    """One balance that disagrees with what it should equal; `symbol` is set for position checks."""

    account_id: uuid.UUID
    check: str  # cash_vs_ledger | reserved_cash | money_conserved | reserved_quantity | negative_<balance>
    expected: Decimal
    actual: Decimal
    symbol: str | None = None


@dataclass
class _Totals:
    """What the balances should be, recomputed from the rows behind them; keyed by account (and symbol)."""

    ledger: dict[tuple, Decimal]
    held: dict[tuple, Decimal]  # cost basis - realized P&L over all positions
    reserved_cash: dict[tuple, Decimal]
    reserved_shares: dict[tuple, Decimal]


def reconcile(db: Session) -> list[Discrepancy]:
    """Every account's discrepancies; an empty list means every account is consistent."""
    return _reconcile(db, None)


def reconcile_account(db: Session, account_id: uuid.UUID) -> list[Discrepancy]:
    return _reconcile(db, account_id)


def _reconcile(db: Session, account_id: uuid.UUID | None) -> list[Discrepancy]:
    def of_account(column) -> list:
        return [] if account_id is None else [column == account_id]

    totals = _recompute(db, of_account)
    found = []
    for account in db.exec(select(Account).where(*of_account(Account.id)).order_by(Account.id)):
        found += _account_checks(account, totals)
    positions = select(Position).where(*of_account(Position.account_id))
    for position in db.exec(positions.order_by(Position.account_id, Position.symbol)):
        found += _position_checks(position, totals)
    return found


def _recompute(db: Session, of_account) -> _Totals:
    pending = [Order.status == OrderStatus.PENDING, *of_account(Order.account_id)]
    return _Totals(
        ledger=_sums(db, LedgerEntry.amount, Money(), [LedgerEntry.account_id], *of_account(LedgerEntry.account_id)),
        held=_sums(
            db,
            Position.cost_basis - Position.realized_pnl,
            Money(),
            [Position.account_id],
            *of_account(Position.account_id),
        ),
        reserved_cash=_sums(db, Order.reserved_cash, Money(), [Order.account_id], Order.side == Side.BUY, *pending),
        reserved_shares=_sums(
            db,
            Order.reserved_quantity,
            Quantity(),
            [Order.account_id, Order.symbol],
            Order.side == Side.SELL,
            *pending,
        ),
    )


def _sums(db: Session, amount, amount_type, keys: list, *where) -> dict[tuple, Decimal]:
    """sum(amount) per distinct `keys`. type_coerce: a difference of two columns loses the column type, and
    on SQLite the columns hold integer units that the type scales back."""
    query = select(*keys, type_coerce(func.sum(amount), amount_type)).where(*where).group_by(*keys)
    return {tuple(row[:-1]): row[-1] for row in db.exec(query)}


def _account_checks(account: Account, totals: _Totals) -> list[Discrepancy]:
    # Money is conserved: what the account started with (since its last reset, which clears the positions) is its
    # cash plus what its positions hold at cost, less what they have realized.
    key = (account.id,)
    return [
        *_differs(key, "cash_vs_ledger", totals.ledger.get(key, ZERO), account.cash),
        *_differs(key, "reserved_cash", totals.reserved_cash.get(key, ZERO), account.reserved_cash),
        *_differs(key, "money_conserved", account.starting_cash, account.cash + totals.held.get(key, ZERO)),
        *_negative(key, cash=account.cash, reserved_cash=account.reserved_cash),
    ]


def _position_checks(position: Position, totals: _Totals) -> list[Discrepancy]:
    key = (position.account_id, position.symbol)
    reserved = totals.reserved_shares.get(key, ZERO)
    return [
        *_differs(key, "reserved_quantity", reserved, position.reserved_quantity),
        *_negative(
            key,
            quantity=position.quantity,
            reserved_quantity=position.reserved_quantity,
            cost_basis=position.cost_basis,
        ),
    ]


def _differs(key: tuple, check: str, expected: Decimal, actual: Decimal) -> list[Discrepancy]:
    return [] if expected == actual else [Discrepancy(*key[:1], check, expected, actual, *key[1:])]


def _negative(key: tuple, **balances: Decimal) -> list[Discrepancy]:
    """Balances that may never go below zero (the database's CHECK constraints say so too)."""
    return [
        Discrepancy(*key[:1], f"negative_{name}", ZERO, value, *key[1:])
        for name, value in balances.items()
        if value < 0
    ]
