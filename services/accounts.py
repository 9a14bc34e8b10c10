"""A user's paper accounts: open, list, rename, make default, reset and close them, and find the one a call acts on.

Every change that touches money (reset, close) locks the account row first, as placements and fills do, so it
waits for them, or they for it, and never sees half of one.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlmodel import Session, select

from models.account import Account, AccountKind, LedgerEntry, LedgerKind, Position
from models.order import Order, OrderStatus
from services import api_keys, trading
from services.bus import Bus
from services.cache import Cache
from services.errors import DomainError

PERSONAL_LIMIT = 5  # open personal accounts per user
DEFAULT_NAME = "Individual"  # what Robinhood calls a user's first account


def not_found() -> DomainError:
    return DomainError("ACCOUNT_NOT_FOUND", "There is no such account.")


def open_account(
    db: Session, *, user_id: uuid.UUID, name: str, starting_cash: Decimal, is_default: bool, now: datetime
) -> Account:
    """A personal account funded with `starting_cash` (in the caller's transaction; the caller commits)."""
    account = Account(
        user_id=user_id,
        name=name,
        kind=AccountKind.PERSONAL,
        is_default=is_default,
        starting_cash=starting_cash,
        cash=starting_cash,
        created_at=now,
        updated_at=now,
    )
    db.add(account)
    db.flush()  # the account row first: the ledger refers to it
    if starting_cash:
        db.add(LedgerEntry(account_id=account.id, amount=starting_cash, kind=LedgerKind.DEPOSIT, created_at=now))
    return account


def owned(db: Session, *, user_id: uuid.UUID, account_id: uuid.UUID | None, lock: bool = False) -> Account:
    """The user's open account with this id, or their default one when no id is given; ACCOUNT_NOT_FOUND for
    anybody else's, a closed one, or none."""
    query = select(Account).where(Account.user_id == user_id, Account.closed_at.is_(None))
    query = query.where(Account.is_default) if account_id is None else query.where(Account.id == account_id)
    found = db.exec(query.with_for_update() if lock else query).first()
    if found is None:
        raise not_found()
    return found


def parse_id(text: str) -> uuid.UUID:
    """An account id as a client sent it (a header, a path); one that cannot name an account names nobody's."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise not_found() from None


def list_accounts(db: Session, user_id: uuid.UUID) -> list[Account]:
    """The user's open accounts, the default first, then by age."""
    query = select(Account).where(Account.user_id == user_id, Account.closed_at.is_(None))
    return list(db.exec(query.order_by(Account.is_default.desc(), Account.created_at, Account.id)))


def open_personal(db: Session, *, user_id: uuid.UUID, name: str, starting_cash: Decimal, now: datetime) -> Account:
    # Counted under the lock of the user's default account, so two requests at once cannot both be the fifth.
    owned(db, user_id=user_id, account_id=None, lock=True)
    personal = [a for a in list_accounts(db, user_id) if a.kind == AccountKind.PERSONAL]
    if len(personal) >= PERSONAL_LIMIT:
        raise DomainError("ACCOUNT_LIMIT", f"You can hold at most {PERSONAL_LIMIT} personal accounts.")
    account = open_account(db, user_id=user_id, name=name, starting_cash=starting_cash, is_default=False, now=now)
    db.commit()
    db.refresh(account)
    return account


def change(
    db: Session, *, user_id: uuid.UUID, account_id: uuid.UUID, name: str | None, make_default: bool, now: datetime
) -> Account:
    account = owned(db, user_id=user_id, account_id=account_id, lock=True)
    if name is not None:
        account.name = name
    if make_default and not account.is_default:
        # The old default steps down first: one default per user is also a unique index.
        db.execute(update(Account).where(Account.user_id == user_id, Account.is_default).values(is_default=False))
        db.flush()
        account.is_default = True
    account.updated_at = now
    db.add(account)
    db.commit()
    db.refresh(account)
    return account


def _end_resting_orders(db: Session, account: Account, now: datetime) -> list[Order]:
    """Cancel the account's pending orders (its row locked), giving back what they reserved."""
    resting = list(
        db.exec(
            select(Order).where(Order.account_id == account.id, Order.status == OrderStatus.PENDING).with_for_update()
        )
    )
    positions = {
        p.symbol: p for p in db.exec(select(Position).where(Position.account_id == account.id).with_for_update())
    }
    for order in resting:
        trading.release(account, positions.get(order.symbol), order)
        order.status, order.updated_at = OrderStatus.CANCELED, now
        db.add(order)
    for position in positions.values():
        db.add(position)
    return resting


def reset(db: Session, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> tuple[Account, list[Order]]:
    """Cancel resting orders, clear positions, set the cash back to the starting cash; the ledger records the
    difference as a `reset` entry, from which the account's history starts again. Its orders stay listed."""
    account = owned(db, user_id=user_id, account_id=account_id, lock=True)
    if account.kind != AccountKind.PERSONAL:
        raise DomainError("ACCOUNT_NOT_RESETTABLE", "A league account cannot be reset.")
    canceled = _end_resting_orders(db, account, now)
    db.flush()
    db.execute(delete(Position).where(Position.account_id == account.id))
    db.add(
        LedgerEntry(
            account_id=account.id, amount=account.starting_cash - account.cash, kind=LedgerKind.RESET, created_at=now
        )
    )
    account.cash, account.updated_at = account.starting_cash, now
    db.add(account)
    db.commit()
    db.refresh(account)
    return account, canceled


def close(
    db: Session, cache: Cache, bus: Bus, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> list[Order]:
    """Close a personal account that is not the default: resting orders canceled, its API keys dead everywhere,
    gone from the list; its rows stay in the database."""
    account = owned(db, user_id=user_id, account_id=account_id, lock=True)
    if account.is_default or account.kind != AccountKind.PERSONAL:
        raise DomainError("ACCOUNT_NOT_CLOSABLE", "Only a personal account that is not the default can be closed.")
    canceled = _end_resting_orders(db, account, now)
    account.closed_at = account.updated_at = now
    db.add(account)
    api_keys.revoke_account(db, cache, bus, account_id=account.id, now=now)  # commits
    return canceled


class Balances(BaseModel):
    cash: Decimal
    reserved_cash: Decimal

    @property
    def buying_power(self) -> Decimal:
        """Cash not reserved by resting buy orders."""
        return self.cash - self.reserved_cash


def balances(db: Session, account_id: uuid.UUID) -> Balances:
    account = db.get(Account, account_id)
    if account is None:
        raise not_found()
    return Balances(cash=account.cash, reserved_cash=account.reserved_cash)


class Holding(BaseModel):
    quantity: Decimal
    available: Decimal  # not reserved by resting sell orders


def holding(db: Session, account_id: uuid.UUID, symbol: str) -> Holding:
    position = db.get(Position, (account_id, symbol))
    if position is None:
        return Holding(quantity=Decimal(0), available=Decimal(0))
    return Holding(quantity=position.quantity, available=position.quantity - position.reserved_quantity)
