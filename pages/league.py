"""One league: its dates, countdown and rules, the leaderboard with the viewer's rank, and for its owner the
invite link, the members (with emails, for grading), the CSV exports, removing a member and ending it early."""

from fastapi import Request
from nicegui import ui

from components import dialogs
from components.frame import frame
from components.league_board import LeagueBoard
from components.league_race import LeagueRace
from components.numbers import money
from models.league import League
from models.types import utcnow
from models.user import UserPublic
from pages.leagues import join_league, when
from services import runtime
from services.infra.errors import DomainError
from services.leagues import exports, leagues, standings
from services.runtime import call
from services.trading import accounts


def _rules_text(league) -> list[str]:
    rules = league.rules
    return [
        "Symbols: " + (", ".join(league.symbols) if league.symbols else "every listed symbol"),
        "Order types: " + (", ".join(t.replace("_", " ") for t in rules.order_types) if rules.order_types else "all"),
        "Largest position: " + (f"{rules.max_position_percent}% of equity" if rules.max_position_percent else "no cap"),
        "Fractional shares: " + ("yes" if rules.allow_fractional else "no, whole shares only"),
        "Lowest share price to buy: " + (money(rules.min_price) if rules.min_price else "none"),
    ]


class OwnerPanel:
    """The owner's view: invite link, members, exports, remove, end."""

    def __init__(self, league: League, owner: UserPublic, base_url: str):
        self.league, self.owner = league, owner
        with ui.card().classes("sw-card w-full p-6 gap-3").props('data-testid="owner-panel"') as self.card:
            ui.label("Organiser").classes("text-lg font-semibold")
            link = f"{base_url.rstrip('/')}/join/{league.invite_code}"
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.input("Invite link", value=link).props('outlined dense readonly data-testid="invite-link"').classes(
                    "flex-1"
                )
                ui.button(icon="content_copy", on_click=lambda: self._copy(link)).props(
                    'flat round dense aria-label="Copy the invite link" data-testid="copy-invite"'
                )
            with ui.row().classes("gap-2 flex-wrap"):
                ui.button("Standings CSV", on_click=lambda: self.download("standings")).props(
                    'outline no-caps data-testid="export-standings"'
                )
                ui.button("Trades CSV", on_click=lambda: self.download("trades")).props(
                    'outline no-caps data-testid="export-trades"'
                )
                ui.button("End the league now", on_click=self.ask_end).props(
                    'outline no-caps color=negative data-testid="end-league"'
                )
            ui.label("Members").classes("font-semibold mt-2")
            self.members = ui.column().classes("w-full gap-1").props('data-testid="members"')

    def _copy(self, link: str) -> None:
        ui.clipboard.write(link)
        ui.notify("Invite link copied")

    async def refresh(self) -> None:
        rt = runtime.current()

        def read(db):
            league = db.get(League, self.league.id)
            return standings.compute(db, league, dict(rt.hub.latest), utcnow(), {})

        entries = sorted(await call(read), key=lambda e: e.number)
        self.members.clear()
        with self.members:
            if not entries:
                ui.label("No members yet.").classes("text-gray-500")
            for entry in entries:
                with ui.row().classes("w-full items-center justify-between no-wrap") as row:
                    row.props["data-testid"] = f"member-{entry.email}"
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(entry.display_name).classes("font-medium")
                        ui.label(entry.email).classes("text-xs text-gray-500 break-all")
                    with ui.row().classes("items-center gap-4 no-wrap"):
                        ui.label(money(entry.equity)).classes("sw-num")
                        ui.label(f"{entry.trades} trades").classes("text-sm text-gray-500 gt-xs")
                        ui.button(icon="person_remove", on_click=lambda e=entry: self.ask_remove(e)).props(
                            'flat round dense color=grey-7 aria-label="Remove"'
                        ).tooltip("Remove from the league")

    async def download(self, what: str) -> None:
        rt = runtime.current()

        def read(db):
            league = leagues.owned(db, self.league.id, self.owner.id)
            if what == "trades":
                return exports.trades_csv(db, league)
            return exports.standings_csv(db, league, dict(rt.hub.latest), utcnow())

        text = await call(read)
        ui.download.content(text.encode(), f"{self.league.name}-{what}.csv", "text/csv")

    def ask_remove(self, entry) -> None:
        async def remove() -> None:
            rt = runtime.current()
            try:
                member, canceled = await leagues.remove(
                    rt.engine,
                    rt.store,
                    rt.cache,
                    rt.bus,
                    league_id=self.league.id,
                    owner_id=self.owner.id,
                    member_id=entry.user_id,
                    now=utcnow(),
                )
            except DomainError as exc:
                ui.notify(exc.message, type="warning")
                return
            await accounts.announce_canceled(rt.bus, member.user_id, canceled)
            rt.leaderboards.forget(self.league.id)
            with self.card:
                ui.notify(f"Removed {entry.display_name}")
            await self.refresh()

        text = f"{entry.display_name} ({entry.email}) leaves the standings and cannot join again."
        dialogs.confirm(self.card, "Remove this member?", "remove-dialog", text, "Remove", remove)

    def ask_end(self) -> None:
        async def end() -> None:
            try:
                await call(leagues.end, league_id=self.league.id, user_id=self.owner.id, now=utcnow())
            except DomainError as exc:
                ui.notify(exc.message, type="warning")
                return
            ui.navigate.reload()

        text = "Trading stops now; every position is settled within seconds and the standings become final."
        dialogs.confirm(self.card, "End the league now?", "end-dialog", text, "End", end)


def _countdown(league) -> None:
    """Until the start or the end, counted down in the browser (no server work per second)."""
    status = league.status
    if status == "ended":
        ui.label("This league has ended.").classes("text-gray-500").props('data-testid="countdown"')
        return
    target = league.starts_at if status == "upcoming" else league.ends_at
    words = "Starts in" if status == "upcoming" else "Ends in"
    label = ui.label().classes("font-medium").props('data-testid="countdown"')
    millis = int(target.timestamp() * 1000)
    ui.run_javascript(
        f"""
        const el = getHtmlElement({label.id});
        const tick = () => {{
            const left = Math.max(0, {millis} - Date.now());
            const d = Math.floor(left / 86400000), h = Math.floor(left / 3600000) % 24;
            const m = Math.floor(left / 60000) % 60, s = Math.floor(left / 1000) % 60;
            if (el) el.textContent = `{words} ${{d ? d + 'd ' : ''}}${{h}}h ${{m}}m ${{s}}s`;
            if (left > 0) setTimeout(tick, 1000);
        }};
        tick();
        """
    )


async def league_page(request: Request, league_id: str):
    user = request.state.user
    try:
        chosen = leagues.parse_id(league_id)
        league = await call(leagues.visible, chosen, user.id)
        shown = await call(leagues.get, league_id=chosen, user_id=user.id, now=utcnow())
        member = await call(leagues.membership, chosen, user.id)
    except DomainError:
        league = None
    with frame("League", request):
        if league is None:
            ui.label("There is no such league.").classes("text-xl").props('data-testid="no-league"')
            ui.link("See the leagues", "/leagues")
            return
        with ui.row().classes("w-full items-center justify-between"):
            with ui.column().classes("gap-1 min-w-0"):
                ui.label(shown.name).classes("text-3xl font-semibold break-all").props('data-testid="league-title"')
                if shown.description:
                    ui.label(shown.description).classes("text-gray-600")
            ui.badge(shown.status.capitalize()).props('outline color=primary data-testid="league-status"')
        with ui.row().classes("w-full gap-6 items-start flex-wrap md:flex-nowrap"):
            with ui.column().classes("flex-1 min-w-0 gap-6 w-full"):
                board = LeagueBoard(league, user.id)
                race = LeagueRace(league, user.id)
            with ui.column().classes("w-full md:w-80 gap-6"), ui.card().classes("sw-card w-full p-6 gap-2"):
                _countdown(shown)
                ui.label(f"{when(shown.starts_at)} to {when(shown.ends_at)}").classes("text-sm text-gray-500")
                ui.label(f"{money(shown.starting_cash)} to start · {shown.member_count} members").classes("text-sm")
                for line in _rules_text(shown):
                    ui.label(line).classes("text-sm")
                if member is None and shown.status != "ended" and shown.visibility == "public":
                    ui.button("Join", on_click=lambda: join_league(user, league_id=chosen)).props(
                        'unelevated no-caps data-testid="join-league"'
                    ).classes("rounded-full")
        owner = OwnerPanel(league, user, str(request.base_url)) if league.owner_id == user.id else None
    await board.refresh()
    await race.refresh()
    if owner is not None:
        await owner.refresh()
