"""Bars of any timeframe (n minutes or hours, days, weeks, months) built from the stored candles: minute candles
for intraday timeframes, daily ones (and today's, built from its minutes) beyond. Bars are labelled by their
start; days, weeks and months start at midnight New York time."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from models.candle import DAY, MINUTE
from models.market import Candle
from services.market import history
from services.market.clock import NEW_YORK, MarketClock, midnight

_TIMEFRAME = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNIT = {"Min": "Min", "T": "Min", "Hour": "Hour", "H": "Hour", "Day": "Day", "D": "Day"}
_UNIT |= {"Week": "Week", "W": "Week", "Month": "Month", "M": "Month"}
_LIMITS = {"Min": 59, "Hour": 23, "Day": 1, "Week": 1, "Month": 12}
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class TimeFrame:
    amount: int
    unit: str  # Min | Hour | Day | Week | Month

    @classmethod
    def parse(cls, text: str) -> "TimeFrame":
        """`5Min`, `1Hour`, `1Day`, `1Week`, `3Month` (and the short forms `5T`, `1H`, `1D`, `1W`, `3M`); ValueError
        for anything else."""
        found = _TIMEFRAME.match(text.strip())
        if found is None:
            raise ValueError(f"invalid timeframe: {text}")
        amount, unit = int(found[1]), _UNIT[found[2]]
        if not 1 <= amount <= _LIMITS[unit] or (unit == "Month" and amount not in (1, 2, 3, 6, 12)):
            raise ValueError(f"invalid timeframe: {text}")
        return cls(amount, unit)

    @property
    def intraday(self) -> bool:
        return self.unit in ("Min", "Hour")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def _ny_day(t: datetime) -> date:
    return t.astimezone(NEW_YORK).date()


def _start_of(frame: TimeFrame) -> Callable[[datetime], datetime]:
    """The start of the bar a candle starting at `t` belongs to."""
    if frame.intraday:
        step = timedelta(minutes=frame.amount * (60 if frame.unit == "Hour" else 1))
        return lambda t: _EPOCH + (t - _EPOCH) // step * step
    if frame.unit == "Week":
        return lambda t: midnight(_ny_day(t) - timedelta(days=_ny_day(t).weekday()))
    if frame.unit == "Month":

        def month_start(t: datetime) -> datetime:
            day = _ny_day(t)
            month = (day.month - 1) // frame.amount * frame.amount + 1
            return midnight(date(day.year, month, 1))

        return month_start
    return lambda t: midnight(_ny_day(t))


def _merge(candles: list[Candle], start_of: Callable[[datetime], datetime]) -> list[Candle]:
    merged: list[Candle] = []
    for candle in candles:
        start = start_of(candle.t)
        if merged and merged[-1].t == start:
            last = merged[-1]
            merged[-1] = last.model_copy(
                update={
                    "high": max(last.high, candle.high),
                    "low": min(last.low, candle.low),
                    "close": candle.close,
                    "volume": last.volume + candle.volume,
                }
            )
        else:
            merged.append(candle.model_copy(update={"t": start}))
    return merged


def bars(
    db: Session, symbol: str, frame: TimeFrame, *, start: datetime, end: datetime, clock: MarketClock, now: datetime
) -> list[Candle]:
    """The symbol's bars of `frame` starting within [start, end], oldest first."""
    start_of = _start_of(frame)
    since = start_of(start)
    if frame.intraday:
        candles = history.stored(db, symbol, MINUTE, since, end + timedelta(microseconds=1))
    else:
        candles = history.stored(db, symbol, DAY, since, end + timedelta(microseconds=1))
        today = clock.trading_day(now)
        if midnight(today) <= end and (not candles or candles[-1].t < midnight(today)):
            opens, closes = clock.session(today)
            forming = history.day_candle(history.stored(db, symbol, MINUTE, opens, closes), midnight(today))
            if forming is not None:  # today's daily candle is stored at the day's end; until then, its minutes
                candles.append(forming)
    return [bar for bar in _merge(candles, start_of) if start <= bar.t <= end]
