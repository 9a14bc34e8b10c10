"""Exact decimal columns on PostgreSQL and SQLite alike."""

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

CENTS = 2  # cash, reservations, cost basis, realized P&L
PRICE = 4  # limit / stop / fill prices: cents, or 4 places below $1
QUANTITY = 6  # fractional shares


class ScaledDecimal(TypeDecorator):
    """A Decimal with a fixed number of places.

    PostgreSQL keeps it as NUMERIC. SQLite has no exact decimal, so there it is an integer count of
    the smallest unit; CHECK constraints such as `cash >= 0` then still compare real values. A value
    with more places than the column holds is refused rather than silently rounded: rounding is a
    business rule and happens in the services, never by accident in storage.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale
        self.unit = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if value != value.quantize(self.unit):
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        return int(value.scaleb(self.scale)) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self.unit)
        return Decimal(value).quantize(self.unit)

    @property
    def python_type(self):
        return Decimal

    def __repr__(self) -> str:  # how Alembic writes the type into a migration
        return f"ScaledDecimal({self.scale})"


def tick_size(price: Decimal) -> Decimal:
    """Prices trade in cents from $1 up and in hundredths of a cent below."""
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


def Money():  # noqa: N802 - reads like a column type
    return ScaledDecimal(CENTS)


def Price():  # noqa: N802
    return ScaledDecimal(PRICE)


def Quantity():  # noqa: N802
    return ScaledDecimal(QUANTITY)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both databases (SQLite would hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


def values_of(enum: type[StrEnum]) -> str:
    """An enum's values as a SQL list, for the CHECK constraint that keeps a column to them."""
    return ", ".join(f"'{member.value}'" for member in enum)


def utcnow() -> datetime:
    return datetime.now(UTC)
