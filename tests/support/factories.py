"""Small helpers for making test data."""

import secrets
import time
from decimal import Decimal

from models.market import Quote


def random_email() -> str:
    return f"trader-{secrets.token_hex(6)}@example.com"


PASSWORD = "correct horse battery"


def quote(
    symbol: str = "AAPL",
    last: str = "100.00",
    *,
    bid: str | None = None,
    ask: str | None = None,
    volume: int = 100,
    timestamp: int | None = None,
    change: str = "0",
) -> Quote:
    """A quote; by default a cent either side of `last`, stamped now in Unix ms as the feed stamps them."""
    price = Decimal(last)
    return Quote(
        symbol=symbol,
        bid=Decimal(bid) if bid else price - Decimal("0.01"),
        ask=Decimal(ask) if ask else price + Decimal("0.01"),
        last=price,
        volume=volume,
        timestamp=time.time_ns() // 1_000_000 if timestamp is None else timestamp,
        change=Decimal(change),
        change_percent=Decimal("0"),
        prev_close=price - Decimal(change),
    )
