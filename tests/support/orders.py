"""Helpers for the order API tests: place an order, read the portfolio, check that the books balance."""

import uuid
from decimal import Decimal

from sqlmodel import select

from models.account import Account, LedgerEntry, Position
from models.order import Order
from services.infra.db import session_scope


def place(api, headers, key=None, **order):
    body = {"side": "buy", "orderType": "market", "quantity": "1", **order}
    return api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": key or uuid.uuid4().hex})


def portfolio(api, headers) -> dict:
    return api.get("/api/portfolio", headers=headers).json()


def assert_books_balance(started, account_id: str) -> None:
    """Ledger == cash, reservations match pending orders, and no money was made or lost by rounding."""
    uid = uuid.UUID(account_id)
    with session_scope(started.engine) as db:
        account = db.get(Account, uid)
        entries = db.exec(select(LedgerEntry).where(LedgerEntry.account_id == uid))
        ledger = sum((e.amount for e in entries), Decimal(0))
        positions = db.exec(select(Position).where(Position.account_id == uid)).all()
        pending = db.exec(select(Order).where(Order.account_id == uid, Order.status == "pending")).all()
    assert ledger == account.cash >= 0
    assert account.reserved_cash == sum((o.reserved_cash for o in pending if o.side == "buy"), Decimal(0))
    basis = sum((p.cost_basis for p in positions), Decimal(0))
    realized = sum((p.realized_pnl for p in positions), Decimal(0))
    assert account.cash + basis - realized == started.settings.starting_cash
    for p in positions:
        sells = [o for o in pending if o.side == "sell" and o.symbol == p.symbol]
        assert all(o.reserved_quantity == o.quantity for o in sells if o.notional is None)
        held_back = sum((o.reserved_quantity for o in sells), Decimal(0))
        assert 0 <= p.reserved_quantity == held_back <= p.quantity
