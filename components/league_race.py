"""A league's race: its top members' equity over the league's life, one line each, from the league's shared race
(computed once a minute for every viewer, never per viewer), the viewer's own line drawn bolder."""

import uuid

from nicegui import ui

from components.charts import EMPTY_TITLE
from components.theme import GREEN
from models.league import League
from services import runtime
from services.leagues import standings

PALETTE = (GREEN, "#5B8DEF", "#F5A623", "#B36BE0", "#26C6DA")  # one colour per runner, the leader green
EMPTY = {**EMPTY_TITLE, "text": "The race is drawn once members trade"}


def options(runners, viewer_id: uuid.UUID) -> dict:
    """The chart of these runners (services.leagues.race); floats only at the drawing edge."""
    return {
        "title": EMPTY if not runners else {"show": False},
        "animation": False,
        "color": list(PALETTE),
        "grid": {"left": 8, "right": 8, "top": 32, "bottom": 24, "containLabel": True},
        "legend": {"top": 0, "type": "scroll", "data": [r.display_name for r in runners]},
        "tooltip": {"trigger": "axis"},
        # No axis line under an empty race: its sentence stands alone.
        "xAxis": {
            "type": "time",
            "show": bool(runners),
            "splitLine": {"show": False},
            "axisLabel": {"hideOverlap": True},
        },
        "yAxis": {"type": "value", "scale": True, "splitLine": {"show": False}},
        "series": [
            {
                "name": r.display_name,
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"width": 3 if r.user_id == viewer_id else 1.5},
                "data": [[t.isoformat(), float(equity)] for t, equity in r.points],
            }
            for r in runners
        ],
    }


class LeagueRace:
    def __init__(self, league: League, viewer_id: uuid.UUID):
        self.league, self.viewer_id = league, viewer_id
        with ui.card().classes("sw-card w-full p-6 gap-3"):
            ui.label("The race").classes("text-lg font-semibold")
            self.chart = ui.echart(options([], viewer_id)).classes("w-full h-64").props('data-testid="league-race"')
        self.timer = ui.timer(standings.RACE_REFRESH, self.refresh)

    async def refresh(self) -> None:
        rt = runtime.current()
        runners = await rt.leaderboards.race(rt.engine, self.league, rt.hub.latest)
        self.chart.options.clear()
        self.chart.options.update(options(runners, self.viewer_id))
        self.chart.update()
