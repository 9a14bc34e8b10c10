"""A user's paper accounts: open, list, rename, make default, reset and close them, and find the one a call acts on.

Every change that touches money (reset, close) locks the account row first, as placements and fills do, so it
waits for them, or they for it, and never sees half of one.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from anyio import to_thread
from pydantic import BaseModel
from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from models.account import Account, AccountKind, AccountPublic, LedgerEntry, LedgerKind, Position
from models.api_key import ApiKey
from models.market import Quote
from models.order import Order, OrderPublic, OrderStatus
from services.infra.bus import Bus
from services.infra.cache import Cache
from services.infra.errors import DomainError
from services.trading import api_keys, orders, portfolio, rules
from services.trading.store import Store, Transaction, lock

PERSONAL_LIMIT = 5  # open personal accounts per user
DEFAULT_NAME = "Individual"  # what Robinhood calls a user's first account


def not_found() -> DomainError:
    return DomainError("ACCOUNT_NOT_FOUND", "There is no such account.")


def open_account(
    db: Session,
    *,
    user_id: uuid.UUID,
    name: str,
    starting_cash: Decimal,
    is_default: bool,
    now: datetime,
    league_id: uuid.UUID | None = None,
) -> Account:
    """An account funded with `starting_cash` (in the caller's transaction; the caller commits): personal, or the
    user's account in the league `league_id`."""
    account = Account(
        user_id=user_id,
        name=name,
        kind=AccountKind.PERSONAL if league_id is None else AccountKind.LEAGUE,
        league_id=league_id,
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


def public(db: Session, account: Account, quotes: Mapping[str, Quote]) -> AccountPublic:
    """An account as the API and the pages show it, its equity valued at these quotes."""
    valued = portfolio.value(db, account.id, quotes)
    return AccountPublic(
        id=account.id,
        name=account.name,
        kind=account.kind,
        league_id=account.league_id,
        is_default=account.is_default,
        cash=account.cash,
        buying_power=valued.buying_power,
        equity=valued.equity,
        starting_cash=account.starting_cash,
        created_at=account.created_at,
    )


def list_public(db: Session, user_id: uuid.UUID, quotes: Mapping[str, Quote]) -> list[AccountPublic]:
    return [public(db, account, quotes) for account in list_accounts(db, user_id)]


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


_ORDERS, _POSITIONS = Order.__table__, Position.__table__
_LOCK_RESTING = (
    select(*_ORDERS.columns)
    .where(
        (_ORDERS.c.account_id == bindparam("account"))
        # Resting and held orders; spelled out, as the async PostgreSQL path takes no expanding IN list.
        & ((_ORDERS.c.status == OrderStatus.PENDING) | (_ORDERS.c.status == OrderStatus.HELD))
    )
    .with_for_update()
)
_LOCK_POSITIONS = select(*_POSITIONS.columns).where(_POSITIONS.c.account_id == bindparam("account")).with_for_update()


_ACCOUNTS = Account.__table__
_LOCK_OLDEST_PERSONAL = (
    select(*_ACCOUNTS.columns)
    .where(
        (_ACCOUNTS.c.user_id == bindparam("owner"))
        & (_ACCOUNTS.c.kind == AccountKind.PERSONAL)
        & _ACCOUNTS.c.closed_at.is_(None)
    )
    .order_by(_ACCOUNTS.c.created_at, _ACCOUNTS.c.id)
    .limit(1)
    .with_for_update()
)


async def _locked_book(tx: Transaction, user_id: uuid.UUID, account_id: uuid.UUID):
    """The user's open account, its resting orders and its positions, locked in that order."""
    found, resting, positions = await tx.read(
        [
            lock(Account, id=account_id),
            (_LOCK_RESTING, {"account": account_id}),
            (_LOCK_POSITIONS, {"account": account_id}),
        ]
    )
    account = tx.load(Account, found[0] if found else None)
    if account is None or account.user_id != user_id or account.closed_at is not None:
        raise not_found()
    return account, [tx.load(Order, row) for row in resting], [tx.load(Position, row) for row in positions]


async def reset(
    store: Store, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> tuple[Account, list[Order]]:
    """Cancel resting orders, clear positions, set the cash back to the starting cash; the ledger records the
    difference as a `reset` entry, from which the account's history starts again. Its orders stay listed.
    Returns the account and the orders it canceled."""
    async with store.transaction() as tx:
        account, resting, positions = await _locked_book(tx, user_id, account_id)
        if account.kind != AccountKind.PERSONAL:
            raise DomainError("ACCOUNT_NOT_RESETTABLE", "A league account cannot be reset.")
        rules.end_all(account, positions, resting, now)
        for position in positions:
            tx.remove(position)
        tx.add(rules.reset(account, now))
        await tx.commit()
    return account, resting


async def refund(
    store: Store, *, user_id: uuid.UUID, account_id: uuid.UUID, starting_cash: Decimal, now: datetime
) -> None:
    """A league account follows its league's new starting cash (before the league starts): set back to it as a
    reset does, from the new amount."""
    async with store.transaction() as tx:
        account, resting, positions = await _locked_book(tx, user_id, account_id)
        rules.end_all(account, positions, resting, now)
        for position in positions:
            tx.remove(position)
        account.starting_cash = starting_cash
        tx.add(rules.reset(account, now))
        await tx.commit()


async def close(
    store: Store, cache: Cache, bus: Bus, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> list[Order]:
    """Close a personal account that is not the default: resting orders canceled and its API keys ended in the
    same transaction (then dead on every instance), gone from the list; its rows stay in the database. Returns
    the orders it canceled."""

    async def closable(_tx: Transaction, account: Account) -> None:
        if account.is_default or account.kind != AccountKind.PERSONAL:
            raise DomainError("ACCOUNT_NOT_CLOSABLE", "Only a personal account that is not the default can be closed.")

    return await _close(store, cache, bus, user_id=user_id, account_id=account_id, now=now, check=closable)


async def close_league_account(
    store: Store, cache: Cache, bus: Bus, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> list[Order]:
    """Close a league account, as a member leaving (or removed from, or the end of) a league does; as `close`
    does otherwise. Returns the orders it canceled (none if it was closed already)."""

    async def league_only(tx: Transaction, account: Account) -> None:
        if account.kind != AccountKind.LEAGUE:
            raise not_found()
        if account.is_default:  # the default moves to the oldest personal account first (one default per user)
            (oldest,) = await tx.read([(_LOCK_OLDEST_PERSONAL, {"owner": user_id})])
            account.is_default = False
            tx.load(Account, oldest[0]).is_default = True

    try:
        return await _close(store, cache, bus, user_id=user_id, account_id=account_id, now=now, check=league_only)
    except DomainError as exc:
        if exc.code == "ACCOUNT_NOT_FOUND":  # closed already: a retry of a leave or a removal
            return []
        raise


async def _close(store, cache, bus, *, user_id, account_id, now, check) -> list[Order]:
    async with store.transaction() as tx:
        account, resting, positions = await _locked_book(tx, user_id, account_id)
        await check(tx, account)
        (live,) = await tx.read([(api_keys.LOCK_LIVE_OF_ACCOUNT, {"account": account_id})])
        keys = [tx.load(ApiKey, row) for row in live]
        for key in keys:
            key.revoked_at = now
        rules.end_all(account, positions, resting, now)
        account.closed_at = account.updated_at = now
        await tx.commit()
    await to_thread.run_sync(api_keys.announce_revoked, cache, bus, [key.key_id for key in keys])
    return resting


async def cancel_resting(store: Store, *, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> list[Order]:
    """Cancel every resting order of the account (a league account at its league's closing bell). Returns them."""
    async with store.transaction() as tx:
        account, resting, positions = await _locked_book(tx, user_id, account_id)
        rules.end_all(account, positions, resting, now)
        await tx.commit()
    return resting


async def settle(
    store: Store, *, user_id: uuid.UUID, account_id: uuid.UUID, prices: Mapping[str, Decimal], now: datetime
) -> list[Order]:
    """A league account at its league's end: resting orders canceled and every position sold at its settlement
    price (`prices`; a symbol without one at its cost), so the account is all cash. Settling again changes nothing:
    the account's lock and its empty positions make it happen once. Returns the orders it canceled."""
    async with store.transaction() as tx:
        account, resting, positions = await _locked_book(tx, user_id, account_id)
        rules.end_all(account, positions, resting, now)
        for position in positions:
            if position.quantity > 0:
                at_cost = position.cost_basis / position.quantity
                tx.add(rules.settle(account, position, prices.get(position.symbol, at_cost), now))
        await tx.commit()
    return resting


async def announce_canceled(bus: Bus, user_id: uuid.UUID, canceled: list[Order]) -> None:
    """Tell the user's pages and sockets about the orders a reset or a close canceled, as any cancel does."""
    for order in canceled:
        await orders.notify(bus, user_id, OrderPublic.of(order))


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
