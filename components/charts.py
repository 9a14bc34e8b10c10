"""Price and equity charts: a line, green when the range ends up and red when it ends down, or candles."""

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

from nicegui import ui

from components.theme import GREEN, RED

RANGES = ("1D", "1W", "1M", "3M", "1Y", "ALL")
Points = list[tuple[str, Decimal]]  # (ISO time, value), oldest first
Candles = list[tuple[str, Decimal, Decimal, Decimal, Decimal]]  # (ISO time, open, close, low, high), oldest first


EMPTY_TITLE = {  # a fresh market has no history yet: say so rather than draw a blank
    "text": "No prices for this range yet",
    "left": "center",
    "top": "middle",
    "textStyle": {"color": "#9ca3af", "fontSize": 14, "fontWeight": "normal"},
}


def _options(points: Points) -> dict:
    rising = len(points) < 2 or points[-1][1] >= points[0][1]
    colour = GREEN if rising else RED
    return {
        "title": EMPTY_TITLE if not points else {"show": False},
        "animation": False,
        "grid": {"left": 8, "right": 8, "top": 8, "bottom": 24, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "time",
            "axisLine": {"show": False},
            "splitLine": {"show": False},
            # A new day reads "Dec 4", not a bare "4" between the hours.
            "axisLabel": {"hideOverlap": True, "formatter": {"day": "{MMM} {d}", "month": "{MMM}", "year": "{yyyy}"}},
            "minInterval": 60_000,  # a young account's few seconds of history get minute ticks, not milliseconds
        },
        "yAxis": {"type": "value", "scale": True, "splitLine": {"show": False}, "axisLabel": {"show": False}},
        "series": [
            {
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"color": colour, "width": 2},
                "itemStyle": {"color": colour},
                "data": [[t, float(v)] for t, v in points],  # floats only at the drawing edge
            }
        ],
    }


MOMENTS = {"1D": "time", "1W": "datetime", "1M": "datetime"}  # how a moment of the range reads; longer: a date


def _scrubbing(source: str, points: Points, range_name: str) -> dict:
    """A crosshair whose label is the moment under the pointer; the formatter (components/headline.js) also
    shows that moment's value and its change since the range began in the headline."""
    base = float(points[0][1]) if points else 0.0
    args = f"{json.dumps(source)}, p, {base}, {json.dumps(MOMENTS.get(range_name, 'date'))}"
    return {
        "trigger": "axis",
        "triggerOn": "mousemove|click",
        "axisPointer": {"type": "line", "lineStyle": {"color": "#9ca3af", "width": 1}, "animation": False},
        ":formatter": f"(p) => window.swScrub({args})",
        ":position": "(point, _params, _dom, _rect, size) => [Math.max(0, point[0] - size.contentSize[0] / 2), 0]",
        "backgroundColor": "transparent",
        "borderWidth": 0,
        "padding": 0,
        "extraCssText": "box-shadow: none;",
        "textStyle": {"color": "#9ca3af", "fontSize": 12},
        "transitionDuration": 0,
    }


def _candle_options(candles: Candles) -> dict:
    options = _options([(t, close) for t, _, close, _, _ in candles])
    options["series"] = [
        {
            "type": "candlestick",
            "itemStyle": {"color": GREEN, "color0": RED, "borderColor": GREEN, "borderColor0": RED},
            "data": [[t, *(float(v) for v in ocl)] for t, *ocl in candles],
        }
    ]
    return options


class RangeChart:
    """A chart with range buttons; `load(range)` fetches the points of a range, `candles(range)` its candles;
    `on_shown(range, points)` hears what each range drew (a headline saying the change over the range)."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[Points]],
        *,
        candles: Callable[[str], Awaitable[Candles]] | None = None,
        initial: str = "1D",
        testid: str = "chart",
        on_shown: Callable[[str, Points], None] | None = None,
        scrubs: bool = False,
    ):
        """`scrubs`: hovering or dragging across the line shows that moment in the headline whose source is
        `testid` (components/headline.py), in the browser alone."""
        self._load, self._candles, self._on_shown = load, candles, on_shown
        self.range, self._scrub_source = initial, testid if scrubs else None
        self.chart = ui.echart(_options([])).classes("w-full h-64").props(f'data-testid="{testid}"')
        if scrubs:  # back to the live figures when the pointer leaves or the finger lifts; nothing to the server
            self.chart.style("touch-action: pan-y")  # a sideways drag scrubs: it neither scrolls nor goes back
            leave = f"() => window.swScrub({json.dumps(testid)}, null)"
            self.chart.on("chart:globalout", js_handler=leave)
            self.chart.on("touchend", js_handler=leave)
        with ui.row().classes("gap-1 items-center w-full"):
            self._buttons = {
                name: ui.button(name, on_click=lambda name=name: self.show(name)).props(
                    f'flat dense no-caps data-testid="range-{name}"'
                )
                for name in RANGES
            }
            if candles is not None:
                ui.space()
                self.style = ui.toggle({"line": "Line", "candles": "Candles"}, value="line")
                self.style.props('dense flat no-caps data-testid="chart-style"')
                self.style.on_value_change(lambda: self.show(self.range))

    async def show(self, range_name: str | None = None) -> None:
        self.range = range_name or self.range
        for name, button in self._buttons.items():
            button.props(f"color={'primary' if name == self.range else 'grey-7'}")
        if range_name is not None:  # a switch on a shown chart: say it is coming rather than freeze
            self.chart.run_chart_method("showLoading", {"text": "", "color": GREEN, "maskColor": "rgba(0,0,0,0)"})
        if self._candles is not None and self.style.value == "candles":
            candles = await self._candles(self.range)
            options, points = _candle_options(candles), [(t, close) for t, _, close, _, _ in candles]
        else:
            points = await self._load(self.range)
            options = _options(points)
            if self._scrub_source is not None:
                options["tooltip"] = _scrubbing(self._scrub_source, points, self.range)
        self.chart.options.clear()
        self.chart.options.update(options)
        self.chart.update()
        if range_name is not None:
            self.chart.run_chart_method("hideLoading")
        if self._on_shown is not None:
            self._on_shown(self.range, points)
