"""Leagues: competitions whose members trade league accounts that start alike under the same rules."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, StringConstraints, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, CheckConstraint, Index, Text
from sqlmodel import Field

from models.account import AccountPublic
from models.order import MoneyText, OrderType, PriceText, Symbol, TickPrice
from models.row import Row
from models.types import Money, Price, UTCDateTime, utcnow, values_of
from models.user import CamelModel, PlainText

MAX_STARTING_CASH = Decimal("1000000000")
MAX_SYMBOLS = 500


class LeagueStatus(StrEnum):
    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"


class Visibility(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"


class League(Row, table=True):
    """Its status follows from the clock: upcoming before `starts_at`, running until `ends_at`, then ended (an
    early end moves `ends_at`). `settled_at` is set once every position was settled and `final_standings` frozen."""

    __tablename__ = "leagues"
    __table_args__ = (
        CheckConstraint("starting_cash > 0", name="ck_leagues_starting_cash_positive"),
        CheckConstraint("ends_at > starts_at", name="ck_leagues_ends_after_start"),
        CheckConstraint(f"visibility IN ({values_of(Visibility)})", name="ck_leagues_visibility"),
        Index("uq_leagues_invite_code", "invite_code", unique=True),
        Index("ix_leagues_owner", "owner_id"),
        Index("ix_leagues_ends_at", "ends_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_type=Text)
    starting_cash: Decimal = Field(sa_type=Money())
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    join_until: datetime = Field(sa_type=UTCDateTime)
    symbols: list[str] | None = Field(default=None, sa_type=JSON)  # None: every listed symbol
    max_position_percent: Decimal | None = Field(default=None, sa_type=Money())
    allow_fractional: bool = Field(default=True)
    order_types: list[str] | None = Field(default=None, sa_type=JSON)  # None: every order type
    min_price: Decimal | None = Field(default=None, sa_type=Price())
    visibility: str = Field(default=Visibility.PRIVATE, max_length=7)
    invite_code: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_standings: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)

    def status_at(self, now: datetime) -> LeagueStatus:
        if now < self.starts_at:
            return LeagueStatus.UPCOMING
        return LeagueStatus.RUNNING if now < self.ends_at else LeagueStatus.ENDED


class LeagueMember(Row, table=True):
    """One user's place in a league, for the league's life: who left or was removed keeps the row (a removed
    member cannot come back). `number` is the order of joining: "Player N" for a member without a display name."""

    __tablename__ = "league_members"
    __table_args__ = (Index("ix_league_members_user", "user_id"), Index("ix_league_members_account", "account_id"))

    league_id: uuid.UUID = Field(foreign_key="leagues.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id")
    number: int
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def active(self) -> bool:
        return self.left_at is None and self.removed_at is None


# -- shapes ------------------------------------------------------------------------------------------------------

LeagueName = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
StartingCash = Annotated[Decimal, PydanticField(gt=0, le=MAX_STARTING_CASH, decimal_places=2, allow_inf_nan=False)]
Percent = Annotated[Decimal, PydanticField(gt=0, le=100, decimal_places=2, allow_inf_nan=False)]


def _in_utc(moment: datetime) -> datetime:
    """A league's dates in UTC, within years a league can mean (far ones would overflow on conversion)."""
    if not 2000 <= moment.year <= 2999:
        raise ValueError("must be a date between the years 2000 and 2999")
    return moment.astimezone(UTC)


LeagueTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class LeagueRules(CamelModel):
    """What members may trade; null is no limit."""

    max_position_percent: Percent | None = None
    allow_fractional: bool = True
    order_types: list[OrderType] | None = PydanticField(None, min_length=1)
    min_price: TickPrice | None = None

    @field_validator("order_types")
    @classmethod
    def _distinct(cls, types: list[OrderType] | None) -> list[OrderType] | None:
        return None if types is None else list(dict.fromkeys(types))


class LeagueRulesPublic(CamelModel):
    max_position_percent: MoneyText | None
    allow_fractional: bool
    order_types: list[str] | None
    min_price: PriceText | None


class _Symbols:
    @field_validator("symbols", check_fields=False)
    @classmethod
    def _distinct_symbols(cls, symbols: list[str] | None) -> list[str] | None:
        return None if symbols is None else list(dict.fromkeys(symbols))


class LeagueCreate(_Symbols, CamelModel):
    name: LeagueName
    description: Description = ""
    starting_cash: StartingCash | None = None  # None: the platform's STARTING_CASH
    starts_at: LeagueTime
    ends_at: LeagueTime
    join_until: LeagueTime | None = None  # None: until the end
    symbols: list[Symbol] | None = PydanticField(None, min_length=1, max_length=MAX_SYMBOLS)
    rules: LeagueRules = PydanticField(default_factory=LeagueRules)
    visibility: Visibility = Visibility.PRIVATE


class LeagueChange(_Symbols, CamelModel):
    """Only the fields sent change; before the start any of them, after it only the name, the description, a later
    joinUntil and a later endsAt."""

    name: LeagueName | None = None
    description: Description | None = None
    starting_cash: StartingCash | None = None
    starts_at: LeagueTime | None = None
    ends_at: LeagueTime | None = None
    join_until: LeagueTime | None = None
    symbols: list[Symbol] | None = PydanticField(None, min_length=1, max_length=MAX_SYMBOLS)
    rules: LeagueRules | None = None
    visibility: Visibility | None = None


class LeaguePublic(CamelModel):
    id: uuid.UUID
    name: str
    description: str
    owner_id: uuid.UUID
    starting_cash: MoneyText
    starts_at: datetime
    ends_at: datetime
    join_until: datetime
    symbols: list[str] | None
    rules: LeagueRulesPublic
    visibility: Visibility
    status: LeagueStatus
    member_count: int
    invite_code: str | None  # the owner's only


class LeagueEnvelope(CamelModel):
    league: LeaguePublic


class LeagueList(CamelModel):
    leagues: list[LeaguePublic]


class InviteCode(CamelModel):
    invite_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class Joined(CamelModel):
    league: LeaguePublic
    account: AccountPublic
