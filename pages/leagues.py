"""Leagues: the ones the user owns or plays in, public ones to join, a form to create one, and the invite link's
page (`/join/<code>`), which a visitor reaches after signing up or logging in on the way."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from fastapi import Request
from nicegui import app, ui
from pydantic import ValidationError

from components import dialogs
from components.account_switcher import ACCOUNT_KEY
from components.frame import frame
from components.numbers import money
from models.league import LeagueCreate, LeaguePublic
from models.types import utcnow
from models.user import UserPublic
from services import runtime
from services.infra.errors import DomainError
from services.leagues import leagues
from services.runtime import call

STATUS_NAMES = {"upcoming": "Starts", "running": "Ends", "ended": "Ended"}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%b %d, %Y %H:%M UTC")


def league_card(league: LeaguePublic, *, action=None) -> None:
    link = ui.link(target=f"/leagues/{league.id}").classes("no-underline w-full sm:w-80").style("color: inherit")
    with link, ui.card().classes("sw-card p-4 gap-1 w-full cursor-pointer") as card:
        card.props["data-testid"] = f"league-{league.name}"
        with ui.row().classes("w-full items-center justify-between no-wrap"):
            ui.label(league.name).classes("font-semibold break-all")
            ui.badge(league.status.capitalize()).props("outline color=primary")
        moment = league.starts_at if league.status == "upcoming" else league.ends_at
        ui.label(f"{STATUS_NAMES[league.status]} {when(moment)}").classes("text-sm text-gray-500")
        ui.label(f"{league.member_count} members · {money(league.starting_cash)} to start").classes("text-sm")
        if action is not None:
            action()


def _parse_cash(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return Decimal(-1)  # refused by the form's check below, in its words


class CreateForm:
    """The create dialog: name, dates, cash, visibility and the rules; the server's refusal is shown as is."""

    def __init__(self, container: ui.element, user: UserPublic):
        self.user, self.container = user, container
        self.shown, card = dialogs.dialog(container, "Create a league", "create-league-dialog")
        start = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
        with card:
            self.name = ui.input("Name").props('outlined dense maxlength=100 data-testid="league-name"')
            self.description = ui.textarea("Description").props('outlined dense data-testid="league-description"')
            self.cash = ui.input("Starting cash", value=str(runtime.current().settings.starting_cash))
            self.cash.props('outlined dense data-testid="league-cash"')
            self.starts = ui.input("Starts (UTC)", value=start.strftime("%Y-%m-%d %H:%M"))
            self.starts.props('outlined dense data-testid="league-starts"')
            self.ends = ui.input("Ends (UTC)", value=(start + timedelta(days=14)).strftime("%Y-%m-%d %H:%M"))
            self.ends.props('outlined dense data-testid="league-ends"')
            self.symbols = ui.input("Symbols (blank: every listed one)").props(
                'outlined dense data-testid="league-symbols"'
            )
            self.cap = ui.input("Largest position, % of equity (blank: no cap)").props(
                'outlined dense data-testid="league-cap"'
            )
            self.fractional = ui.switch("Fractional shares", value=True).props('data-testid="league-fractional"')
            self.public = ui.switch("Public (anyone may join)", value=False).props('data-testid="league-public"')
            self.message = ui.label().classes("text-sm text-negative").props('data-testid="create-message"')
            self.button = dialogs.buttons(self.shown, "Create", self.submit)
        self.shown.open()

    @staticmethod
    def _moment(text: str | None) -> str:
        try:
            return datetime.strptime((text or "").strip(), "%Y-%m-%d %H:%M").replace(tzinfo=UTC).isoformat()
        except ValueError:
            return text or ""  # the model names the field

    def _wanted(self) -> LeagueCreate:
        symbols = [s.strip() for s in (self.symbols.value or "").replace(",", " ").split() if s.strip()]
        rules = {"allowFractional": self.fractional.value}
        if (self.cap.value or "").strip():
            rules["maxPositionPercent"] = self.cap.value.strip()
        return LeagueCreate.model_validate(
            {
                "name": self.name.value or "",
                "description": self.description.value or "",
                "startingCash": _parse_cash(self.cash.value),
                "startsAt": self._moment(self.starts.value),
                "endsAt": self._moment(self.ends.value),
                "symbols": symbols or None,
                "rules": rules,
                "visibility": "public" if self.public.value else "private",
            }
        )

    async def submit(self) -> None:
        try:
            wanted = self._wanted()
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            self.message.text = f"Check {', '.join(fields)}."
            return
        rt = runtime.current()
        try:
            league = await call(
                leagues.create,
                owner_id=self.user.id,
                wanted=wanted,
                default_cash=rt.settings.starting_cash,
                now=utcnow(),
            )
        except DomainError as exc:
            problems = "; ".join(f"{d['field']} {d['message']}" for d in exc.details or [])
            self.message.text = f"{exc.message} {problems}".strip()
            return
        with self.container:  # not the dialog's slot: it is gone once the dialog closes
            ui.navigate.to(f"/leagues/{league.id}")
        self.shown.close()


async def leagues_page(request: Request):
    user = request.state.user
    with frame("Leagues", request):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Leagues").classes("text-3xl font-semibold")
            page = ui.column().classes("w-full gap-6")
            create = ui.button("Create a league", on_click=lambda: CreateForm(page, user))
            create.props('unelevated no-caps data-testid="create-league"').classes("rounded-full")
        with page:
            ui.label("My leagues").classes("text-lg font-semibold")
            mine_row = ui.row().classes("w-full gap-4").props('data-testid="my-leagues"')
            ui.label("Public leagues to join").classes("text-lg font-semibold")
            public_row = ui.row().classes("w-full gap-4").props('data-testid="public-leagues"')
    now = utcnow()
    mine = await call(leagues.list_leagues, user_id=user.id, public_only=False, now=now)
    public = await call(leagues.list_leagues, user_id=user.id, public_only=True, now=now)
    with mine_row:
        for league in mine:
            league_card(league)
        if not mine:
            ui.label("You are in no league yet: create one, or join one below or by an invite link.").classes(
                "text-gray-500"
            )
    joined = {league.id for league in mine}
    with public_row:
        shown = [league for league in public if league.id not in joined]
        for league in shown:
            league_card(league)
        if not shown:
            ui.label("No public league to join right now.").classes("text-gray-500")


async def join_league(user: UserPublic, *, code: str | None = None, league_id=None) -> None:
    """Join, make the new league account the one this browser trades, and open the league's page."""
    rt = runtime.current()
    try:
        league, account = await call(
            leagues.join, user_id=user.id, code=code, league_id=league_id, quotes=rt.hub.latest, now=utcnow()
        )
    except DomainError as exc:
        ui.notify(exc.message, type="warning")
        return
    rt.leaderboards.forget(league.id)
    app.storage.user[ACCOUNT_KEY] = str(account.id)
    ui.navigate.to(f"/leagues/{league.id}")


async def join_page(request: Request, code: str):
    """The invite link: the league's name and dates, and a button that joins it."""
    user = request.state.user
    try:
        league = await call(leagues.invited, code=code, user_id=user.id, now=utcnow())
    except DomainError:
        league = None
    with frame("Join a league", request), ui.card().classes("sw-card w-full max-w-md p-6 gap-3"):
        if league is None:
            ui.label("This invite link does not name a league.").classes("text-xl").props('data-testid="no-league"')
            ui.link("See the leagues", "/leagues")
            return
        ui.label(f"Join {league.name}").classes("text-2xl font-semibold break-all")
        if league.description:
            ui.label(league.description).classes("text-gray-600")
        ui.label(
            f"{money(league.starting_cash)} of paper money to start · runs {when(league.starts_at)} "
            f"to {when(league.ends_at)} · {league.member_count} members"
        ).classes("text-sm text-gray-500")
        join = ui.button("Join", on_click=lambda: join_league(user, code=code))
        join.props('unelevated no-caps data-testid="join-league"').classes("rounded-full")
