"""Discover: today's top gainers, top losers and most active stocks, of the whole market or one sector, live."""

from fastapi import Request
from nicegui import ui

from components.frame import frame
from components.movers_board import KINDS, MoversBoard
from services.market import movers


async def discover_page(request: Request):
    with frame("Discover", request):
        with ui.row().classes("w-full items-center gap-4 flex-wrap"):
            ui.label("Discover").classes("text-3xl font-semibold")
            ui.space()
            options = {movers.ALL: "All sectors"} | {sector: sector for sector in movers.sectors()}
            sector = ui.select(options, value=movers.ALL, label="Sector").props('outlined dense data-testid="sector"')
            sector.classes("w-56")
        boards = []
        with ui.element("div").classes("grid grid-cols-1 md:grid-cols-3 gap-4 w-full"):
            for kind, title in KINDS.items():
                with ui.card().classes("sw-card w-full p-4 gap-2").props(f'data-testid="{kind}"'):
                    ui.label(title).classes("text-lg font-semibold")
                    boards.append(MoversBoard(kind).props(f'data-testid="{kind}-rows"'))
    sector.on_value_change(lambda event: [board.choose(event.value) for board in boards])
