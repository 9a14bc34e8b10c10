"""The recent tape keeps each symbol's last minutes of ticks in time order and tells trades by the volume."""

from services.market.tape import RecentTape
from tests.support.factories import quote


def test_ticks_within_the_window_and_the_prints_they_report():
    tape = RecentTape(window_ms=60_000)
    volumes = [100, 100, 150, 150, 40]  # the last: a new day's volume
    tape.add([quote("AAPL", "10.00", timestamp=1_000 * n, volume=v) for n, v in enumerate(volumes)])
    ticks = tape.ticks("AAPL", 0, 10_000)
    assert [t.timestamp for t in ticks] == [0, 1_000, 2_000, 3_000, 4_000]
    assert [t.printed for t in ticks] == [None, None, 50, None, 40]
    assert [t.timestamp for t in tape.ticks("AAPL", 1_000, 3_000)] == [1_000, 2_000, 3_000]
    assert tape.ticks("MSFT", 0, 10_000) == []


def test_ticks_older_than_the_window_are_dropped():
    tape = RecentTape(window_ms=10_000)
    tape.add([quote("AAPL", "10.00", timestamp=1_000 * n, volume=n) for n in range(2_000)])
    kept = tape.ticks("AAPL", 0, 10**9)
    assert kept[0].timestamp == 1_989_000 and kept[-1].timestamp == 1_999_000
    tape.add([quote("AAPL", "10.00", timestamp=5, volume=1)])  # late: not kept
    assert tape.ticks("AAPL", 0, 10**9)[-1].timestamp == 1_999_000
