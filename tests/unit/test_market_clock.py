"""Trading days and sessions: around the clock, and NYSE's calendar."""

from datetime import UTC, date, datetime

import pytest

from services.market.clock import AlwaysOpen, NyseSessions, midnight


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_always_open_days_run_midnight_to_midnight_new_york():
    clock = AlwaysOpen()
    assert clock.is_open(utc("2026-11-28T03:00:00"))  # a Saturday night trades too
    assert clock.trading_day(utc("2026-11-25T04:59:59")) == date(2026, 11, 24)
    assert clock.trading_day(utc("2026-11-25T05:00:00")) == date(2026, 11, 25)
    assert clock.session(date(2026, 7, 1)) == (utc("2026-07-01T04:00:00"), utc("2026-07-02T04:00:00"))  # EDT


@pytest.mark.parametrize(
    ("moment", "is_open", "day"),
    [
        ("2026-11-25T14:29:59", False, date(2026, 11, 24)),  # before the bell
        ("2026-11-25T14:30:00", True, date(2026, 11, 25)),
        ("2026-11-25T20:59:59", True, date(2026, 11, 25)),
        ("2026-11-25T21:00:00", False, date(2026, 11, 25)),  # after the close, still that day
        ("2026-11-26T15:00:00", False, date(2026, 11, 25)),  # Thanksgiving
        ("2026-11-27T17:59:59", True, date(2026, 11, 27)),  # early close at 13:00 New York
        ("2026-11-27T18:00:00", False, date(2026, 11, 27)),
        ("2026-11-28T15:00:00", False, date(2026, 11, 27)),  # Saturday
        ("2026-07-01T13:30:00", True, date(2026, 7, 1)),  # summer time: the bell rings an hour earlier in UTC
    ],
)
def test_nyse_sessions(moment, is_open, day):
    clock = NyseSessions()
    assert clock.is_open(utc(moment)) is is_open
    assert clock.trading_day(utc(moment)) == day


def test_nyse_next_open_skips_weekends_and_holidays():
    clock = NyseSessions()
    assert clock.next_open(utc("2026-11-25T22:00:00")) == utc("2026-11-27T14:30:00")
    assert clock.next_open(utc("2026-11-28T12:00:00")) == utc("2026-11-30T14:30:00")
    assert clock.next_open(utc("2026-11-30T15:00:00")) == utc("2026-11-30T15:00:00")


def test_daily_candles_stand_at_new_york_midnight():
    assert midnight(date(2026, 1, 5)) == utc("2026-01-05T05:00:00")
    assert midnight(date(2026, 7, 6)) == utc("2026-07-06T04:00:00")
