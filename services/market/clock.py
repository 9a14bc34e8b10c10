"""When the market trades: around the clock (the default) or on NYSE's regular sessions.

A trading day is named by its New York date. With `always`, every day trades from midnight to midnight
New York time; with `nyse`, weekdays trade 09:30-16:00 New York time except exchange holidays, and close
at 13:00 on the traditional early-close days.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

NEW_YORK = ZoneInfo("America/New_York")


class MarketClock(Protocol):
    def is_open(self, now: datetime) -> bool: ...
    def trades_on(self, day: date) -> bool:
        """Whether `day` (a New York date) has a session."""
        ...

    def trading_day(self, now: datetime) -> date:
        """The day `now` belongs to (the last session that started, when the market is closed)."""
        ...

    def session(self, day: date) -> tuple[datetime, datetime]:
        """Open and close of a trading day, in UTC."""
        ...

    def next_open(self, now: datetime) -> datetime:
        """`now` when the market is open, else when it next opens."""
        ...


def _at(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=NEW_YORK).astimezone(UTC)


def midnight(day: date) -> datetime:
    """Where a trading day's daily candle stands on the time axis: midnight New York time, in UTC."""
    return _at(day, time())


class AlwaysOpen:
    def is_open(self, now):
        return True

    def trades_on(self, day):
        return True

    def trading_day(self, now):
        return now.astimezone(NEW_YORK).date()

    def session(self, day):
        return midnight(day), midnight(day + timedelta(days=1))

    def next_open(self, now):
        return now


@cache
def _nyse_holidays(year: int) -> holidays.HolidayBase:
    return holidays.financial_holidays("NYSE", years=[year])


class NyseSessions:
    OPEN, CLOSE, EARLY_CLOSE = time(9, 30), time(16, 0), time(13, 0)

    def trades_on(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _nyse_holidays(day.year)

    def _early_close(self, day: date) -> bool:
        thanksgiving = next(d for d, name in _nyse_holidays(day.year).items() if name.startswith("Thanksgiving"))
        return day in (thanksgiving + timedelta(days=1), date(day.year, 12, 24), date(day.year, 7, 3))

    def session(self, day):
        close = self.EARLY_CLOSE if self._early_close(day) else self.CLOSE
        return _at(day, self.OPEN), _at(day, close)

    def is_open(self, now):
        day = now.astimezone(NEW_YORK).date()
        if not self.trades_on(day):
            return False
        opens, closes = self.session(day)
        return opens <= now < closes

    def trading_day(self, now):
        day = now.astimezone(NEW_YORK).date()
        while not self.trades_on(day) or now < self.session(day)[0]:
            day -= timedelta(days=1)
        return day

    def next_open(self, now):
        day = now.astimezone(NEW_YORK).date()
        while not self.trades_on(day) or now >= self.session(day)[1]:
            day += timedelta(days=1)
        return max(self.session(day)[0], now)


def clock_for(market_hours: str) -> MarketClock:
    return NyseSessions() if market_hours == "nyse" else AlwaysOpen()
