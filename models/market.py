"""Market data shapes: quotes on the tape and OHLCV candles."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel


class Quote(BaseModel):
    """The latest trade, best bid and ask, and day totals of one symbol."""

    # camelCase on the wire, snake_case in Python; model_dump(mode="json") gives decimal strings (REST).
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    volume: int
    timestamp: int  # Unix ms
    change: Decimal
    change_percent: Decimal
    prev_close: Decimal

    def to_wire(self) -> dict[str, Any]:
        """The WebSocket form: JSON numbers, camelCase keys."""
        return {
            "symbol": self.symbol,
            "bid": float(self.bid),
            "ask": float(self.ask),
            "last": float(self.last),
            "volume": self.volume,
            "timestamp": self.timestamp,
            "change": float(self.change),
            "changePercent": float(self.change_percent),
            "prevClose": float(self.prev_close),
        }


class Candle(BaseModel):
    """One OHLCV bar starting at `t` (UTC)."""

    model_config = ConfigDict(frozen=True)

    t: AwareDatetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    @field_validator("t")
    @classmethod
    def _in_utc(cls, t: datetime) -> datetime:
        return t.astimezone(UTC)

    def to_wire(self) -> dict[str, Any]:
        """The REST form: ISO 8601 time with offset, prices as decimal strings."""
        return {
            "t": self.t.isoformat(),
            "open": str(self.open),
            "high": str(self.high),
            "low": str(self.low),
            "close": str(self.close),
            "volume": self.volume,
        }
