"""A league's leaderboard as a table, refreshed from the league's shared board (computed once per interval for
every viewer, never per viewer), with the viewer's own row marked."""

import uuid

from nicegui import ui

from components.numbers import money, percent
from models.league import League
from services import runtime
from services.leagues import standings

COLUMNS = [
    {"name": "rank", "label": "#", "field": "rank", "align": "left"},
    {"name": "name", "label": "Player", "field": "name", "align": "left"},
    {"name": "equity", "label": "Equity", "field": "equity", "align": "right"},
    {"name": "return", "label": "Return", "field": "return", "align": "right"},
    {"name": "day", "label": "Today", "field": "day", "align": "right"},
    {"name": "trades", "label": "Trades", "field": "trades", "align": "right"},
]
REFRESH = standings.REFRESH  # seconds: a new board is there no sooner


class LeagueBoard:
    def __init__(self, league: League, viewer_id: uuid.UUID):
        self.league, self.viewer_id = league, viewer_id
        self.final = False
        with ui.card().classes("sw-card w-full p-6 gap-3").props('data-testid="leaderboard"'):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Leaderboard").classes("text-lg font-semibold")
                self.note = ui.label().classes("text-sm text-gray-500").props('data-testid="leaderboard-note"')
            self.my_rank = ui.label().classes("font-medium").props('data-testid="my-rank"')
            self.empty = ui.label("No members yet: share the invite link.").classes("text-gray-500")
            self.empty.props('data-testid="leaderboard-empty"')
            self.table = ui.table(columns=COLUMNS, rows=[], row_key="key").classes("w-full")
            self.table.props('flat dense data-testid="standings"')
            self.table.add_slot(
                "body-cell-name",
                "<q-td :props=\"props\" :class=\"props.row.me ? 'text-primary font-semibold' : ''\">"
                '{{ props.row.name }}<span v-if="props.row.me"> (you)</span></q-td>',
            )
        self.timer = ui.timer(REFRESH, self.refresh)

    async def refresh(self) -> None:
        rt = runtime.current()
        board = await rt.leaderboards.board(rt.engine, self.league, rt.hub.latest)
        seen = board.for_viewer(self.viewer_id)
        self.table.rows = [
            {
                "key": index,
                "rank": s.rank,
                "name": s.display_name,
                "equity": money(s.equity),
                "return": percent(s.return_percent),
                "day": percent(s.day_change_percent),
                "trades": s.trades,
                "me": s.is_me,
            }
            for index, s in enumerate(seen.standings)
        ]
        self.empty.set_visibility(not seen.standings)
        self.table.set_visibility(bool(seen.standings))
        mine = next((s for s in seen.standings if s.is_me), None)
        self.my_rank.text = f"Your rank: {mine.rank} of {len(seen.standings)}" if mine else ""
        self.final = seen.final
        self.note.text = "Final standings" if seen.final else f"Updated {seen.as_of.astimezone():%H:%M:%S}"
        if seen.final:
            self.timer.deactivate()  # final standings never change
