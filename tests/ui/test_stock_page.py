"""The stock page's chart: ranges, and a line or candles."""

from tests.ui.conftest import by_testid, click, eventually, fill, publish


def series_type(user) -> str:
    (chart,) = by_testid(user, "price-chart").elements
    return chart.options["series"][0]["type"]


async def test_chart_switches_range_and_style(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    assert series_type(user) == "line"
    (day,) = by_testid(user, "range-1D").elements
    assert day.props["color"] == "primary"

    fill(user, "chart-style", "candles")
    await eventually(lambda: series_type(user) == "candlestick", "candles")
    await click(user, "range-1W")
    (week,) = by_testid(user, "range-1W").elements
    await eventually(lambda: week.props["color"] == "primary" and day.props["color"] == "grey-7", "1W chosen")
    assert series_type(user) == "candlestick"  # the style stays with the new range
