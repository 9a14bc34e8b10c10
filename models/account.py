"""Money: paper accounts, their share positions and the append-only cash ledger."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field as PydanticField
from pydantic import StringConstraints
from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field

from models.order import MoneyText
from models.row import Row
from models.types import Money, Quantity, UTCDateTime, utcnow, values_of
from models.user import CamelModel, PlainText


class AccountKind(StrEnum):
    PERSONAL = "personal"
    LEAGUE = "league"


class LedgerKind(StrEnum):
    DEPOSIT = "deposit"  # the opening cash
    BUY = "buy"
    SELL = "sell"
    RESET = "reset"  # cash set back to the starting cash (what it adds or takes away)
    SETTLEMENT = "settlement"  # a league account's position sold at its league's end


class Account(Row, table=True):
    """A user holds one or more. Buying power is cash minus what resting buy orders reserve.

    An account opened by the upgrade from one account per user has the user's id as its id."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("cash >= 0", name="ck_accounts_cash_nonnegative"),
        CheckConstraint("reserved_cash >= 0", name="ck_accounts_reserved_nonnegative"),
        CheckConstraint("reserved_cash <= cash", name="ck_accounts_reserved_within_cash"),
        CheckConstraint(f"kind IN ({values_of(AccountKind)})", name="ck_accounts_kind"),
        Index("ix_accounts_user", "user_id"),
        # One default per user: the second wall behind the service that moves it.
        Index(
            "uq_accounts_one_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    name: str = Field(max_length=50)
    kind: str = Field(default=AccountKind.PERSONAL, max_length=8)
    league_id: uuid.UUID | None = Field(default=None)
    is_default: bool = Field(default=False)
    starting_cash: Decimal = Field(sa_type=Money())
    cash: Decimal = Field(sa_type=Money())
    reserved_cash: Decimal = Field(default=Decimal("0"), sa_type=Money())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # closed accounts keep their history


class Position(Row, table=True):
    """Shares of one symbol held by one account; cost basis in cents so money is conserved exactly."""

    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_positions_quantity_nonnegative"),
        CheckConstraint("reserved_quantity >= 0", name="ck_positions_reserved_nonnegative"),
        CheckConstraint("reserved_quantity <= quantity", name="ck_positions_reserved_within_held"),
        CheckConstraint("cost_basis >= 0", name="ck_positions_cost_basis_nonnegative"),
    )

    account_id: uuid.UUID = Field(foreign_key="accounts.id", primary_key=True, ondelete="CASCADE")
    symbol: str = Field(primary_key=True, max_length=10)
    quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    reserved_quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    cost_basis: Decimal = Field(default=Decimal("0"), sa_type=Money())
    realized_pnl: Decimal = Field(default=Decimal("0"), sa_type=Money())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerEntry(Row, table=True):
    """Every movement of cash, never updated or deleted: balances must always equal its sum."""

    __tablename__ = "cash_ledger"
    __table_args__ = (Index("ix_cash_ledger_account", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    amount: Decimal = Field(sa_type=Money())
    kind: str = Field(max_length=20)  # a LedgerKind
    order_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


AccountName = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class AccountCreate(CamelModel):
    name: AccountName


class AccountChange(CamelModel):
    name: AccountName | None = None
    is_default: Literal[True] | None = PydanticField(
        None, description="true makes this the default account; to move the default, make another one the default"
    )


class AccountPublic(CamelModel):
    id: uuid.UUID
    name: str
    kind: AccountKind
    league_id: uuid.UUID | None
    is_default: bool
    cash: MoneyText
    buying_power: MoneyText
    equity: MoneyText
    starting_cash: MoneyText
    created_at: datetime


class AccountEnvelope(CamelModel):
    account: AccountPublic


class AccountList(CamelModel):
    accounts: list[AccountPublic]
