"""`GET /v2/clock` and `GET /v2/calendar`, from Sherwood's market clock (MARKET_HOURS): with `always` every day
trades from 00:00 to 23:59 New York time and the clock is always open; with `nyse`, NYSE's sessions."""

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.alpaca import params
from api.alpaca.errors import invalid
from api.alpaca.shapes import CalendarDay, Clock
from api.deps import CurrentCaller
from models.types import utcnow
from services import runtime
from services.market.clock import NEW_YORK, MarketClock

router = APIRouter()

CALENDAR_SPAN = timedelta(days=366)  # what a calendar call lists when it names no end
MAX_CALENDAR_DAYS = 20 * 366


def _ny(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).isoformat(timespec="microseconds")


@router.get("/v2/clock")
def get_clock(_caller: CurrentCaller) -> Clock:
    clock, now = runtime.current().clock, utcnow()
    if clock.is_open(now):
        _, next_close = clock.session(clock.trading_day(now))
        next_open = clock.next_open(next_close)  # the next session's open (around the clock: the close itself)
    else:
        next_open = clock.next_open(now)
        _, next_close = clock.session(next_open.astimezone(NEW_YORK).date())
    return Clock(timestamp=_ny(now), is_open=clock.is_open(now), next_open=_ny(next_open), next_close=_ny(next_close))


def _hhmm(moment: datetime, day: date) -> tuple[int, int]:
    local = moment.astimezone(NEW_YORK)
    return (23, 59) if local.date() > day else (local.hour, local.minute)  # a session ending at midnight


def _next_trading_day(clock: MarketClock, day: date) -> date:
    day += timedelta(days=1)
    while not clock.trades_on(day):
        day += timedelta(days=1)
    return day


def _calendar_day(clock: MarketClock, day: date) -> CalendarDay:
    opens, closes = clock.session(day)
    (oh, om), (ch, cm) = _hhmm(opens, day), _hhmm(closes, day)
    return CalendarDay(
        date=day.isoformat(),
        open=f"{oh:02d}:{om:02d}",
        close=f"{ch:02d}:{cm:02d}",
        session_open=f"{oh:02d}{om:02d}",
        session_close=f"{ch:02d}{cm:02d}",
        settlement_date=_next_trading_day(clock, day).isoformat(),
    )


@router.get("/v2/calendar")
def get_calendar(
    _caller: CurrentCaller,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
) -> list[CalendarDay]:
    """Trading days from `start` (default today) to `end` (default a year on), both inclusive."""
    clock = runtime.current().clock
    first = params.day(start, "start") or utcnow().astimezone(NEW_YORK).date()
    last = params.day(end, "end") or first + CALENDAR_SPAN
    if (last - first).days > MAX_CALENDAR_DAYS:
        raise invalid(f"the calendar spans at most {MAX_CALENDAR_DAYS} days per call")
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [_calendar_day(clock, day) for day in days if clock.trades_on(day)]
