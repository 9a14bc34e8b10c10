"""A stock's key statistics from its stored candles, read only: the latest session's open, high, low and volume,
the average daily volume, and the 52-week high and low. The page folds the live quote in (a new high, the day's
volume so far); the market cap comes from the listing's shares outstanding."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from services.market import history
from services.market.clock import MarketClock

AVERAGE_SESSIONS = 30  # the average volume is over the last 30 finished sessions


@dataclass(frozen=True)
class KeyStats:
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    volume: int
    average_volume: int | None
    year_high: Decimal | None
    year_low: Decimal | None


def key_stats(db: Session, symbol: str, *, clock: MarketClock, now: datetime) -> KeyStats:
    today = history.history(db, symbol, "1D", clock=clock, now=now)
    year = history.history(db, symbol, "1Y", clock=clock, now=now)  # daily candles, the session's forming one last
    finished = year[:-1] if today else year
    recent = finished[-AVERAGE_SESSIONS:]
    return KeyStats(
        open=today[0].open if today else None,
        high=max(c.high for c in today) if today else None,
        low=min(c.low for c in today) if today else None,
        volume=sum(c.volume for c in today),
        average_volume=sum(c.volume for c in recent) // len(recent) if recent else None,
        year_high=max(c.high for c in year) if year else None,
        year_low=min(c.low for c in year) if year else None,
    )
