"""`/api/leagues`: organise, join and leave leagues, the owner's view of the members, the leaderboard and exports.

Everything here needs a session except the leaderboard, which an API key may read (a league of bots)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentCaller, CurrentUser, DbDep
from api.errors import documented
from models.league import InviteCode, Joined, LeagueChange, LeagueCreate, LeagueEnvelope, LeagueList
from models.order import MoneyText, OrderList, OrderStatus
from models.types import utcnow
from models.user import CamelModel
from services import runtime
from services.infra.db import session_scope
from services.leagues import exports, leagues, standings
from services.trading import accounts, orders, portfolio

router = APIRouter(prefix="/api/leagues", tags=["leagues"])


class Member(CamelModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    account_id: uuid.UUID
    joined_at: datetime
    equity: MoneyText
    trades: int


class MemberList(CamelModel):
    members: list[Member]


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(400, 401, 403))
def create_league(body: LeagueCreate, user: CurrentUser, db: DbDep) -> LeagueEnvelope:
    """Organise a league; you own it (and may also join it). Without `startingCash`, the platform's."""
    cash = runtime.current().settings.starting_cash
    return LeagueEnvelope(league=leagues.create(db, owner_id=user.id, wanted=body, default_cash=cash, now=utcnow()))


@router.get("", responses=documented(400, 401, 403))
def list_leagues(
    user: CurrentUser, db: DbDep, visibility: Annotated[Literal["public"] | None, Query()] = None
) -> LeagueList:
    """The leagues you own or play in; `?visibility=public`: the public ones you may join (not ended)."""
    found = leagues.list_leagues(db, user_id=user.id, public_only=visibility == "public", now=utcnow())
    return LeagueList(leagues=found)


@router.post("/join", status_code=status.HTTP_201_CREATED, responses=documented(400, 401, 403, 404, 409))
def join_by_code(body: InviteCode, user: CurrentUser, db: DbDep) -> Joined:
    """Join a league by its invite code: a league account opens with the league's starting cash."""
    league, account = leagues.join(
        db, user_id=user.id, code=body.invite_code, quotes=runtime.current().hub.latest, now=utcnow()
    )
    runtime.current().leaderboards.forget(league.id)
    return Joined(league=league, account=account)


@router.get("/{league_id}", responses=documented(401, 403, 404))
def get_league(league_id: str, user: CurrentUser, db: DbDep) -> LeagueEnvelope:
    return LeagueEnvelope(league=leagues.get(db, league_id=leagues.parse_id(league_id), user_id=user.id, now=utcnow()))


@router.patch("/{league_id}", responses=documented(400, 401, 403, 404, 409))
async def change_league(league_id: str, body: LeagueChange, user: CurrentUser) -> LeagueEnvelope:
    """The owner's changes: before the start anything; after it only the name, the description, a later
    `joinUntil` and a later `endsAt`."""
    rt = runtime.current()
    league = await leagues.change(
        rt.engine, rt.store, league_id=leagues.parse_id(league_id), user_id=user.id, wanted=body, now=utcnow()
    )
    return LeagueEnvelope(league=league)


@router.post("/{league_id}/end", responses=documented(401, 403, 404, 409))
def end_league(league_id: str, user: CurrentUser, db: DbDep) -> LeagueEnvelope:
    """End a running league now: trading stops, and within seconds its resting orders are canceled, every position
    is settled and the standings become final."""
    return LeagueEnvelope(league=leagues.end(db, league_id=leagues.parse_id(league_id), user_id=user.id, now=utcnow()))


@router.delete("/{league_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404, 409))
async def delete_league(league_id: str, user: CurrentUser) -> Response:
    """Delete a league before it starts; its members' accounts close."""
    rt = runtime.current()
    await leagues.delete(
        rt.engine, rt.store, rt.cache, rt.bus, league_id=leagues.parse_id(league_id), user_id=user.id, now=utcnow()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{league_id}/join", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 404, 409))
def join_public(league_id: str, user: CurrentUser, db: DbDep) -> Joined:
    """Join a public league."""
    league, account = leagues.join(
        db, user_id=user.id, league_id=leagues.parse_id(league_id), quotes=runtime.current().hub.latest, now=utcnow()
    )
    runtime.current().leaderboards.forget(league.id)
    return Joined(league=league, account=account)


@router.post("/{league_id}/leave", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404, 409))
async def leave_league(league_id: str, user: CurrentUser) -> Response:
    """Leave a league that has not ended: your resting orders are canceled, your league account closes."""
    rt, chosen = runtime.current(), leagues.parse_id(league_id)
    canceled = await leagues.leave(
        rt.engine, rt.store, rt.cache, rt.bus, league_id=chosen, user_id=user.id, now=utcnow()
    )
    await accounts.announce_canceled(rt.bus, user.id, canceled)
    rt.leaderboards.forget(chosen)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _members(league_id: uuid.UUID, owner_id: uuid.UUID) -> MemberList:
    rt = runtime.current()
    with session_scope(rt.engine) as db:
        league = leagues.owned(db, league_id, owner_id)
        entries = standings.compute(db, league, dict(rt.hub.latest), utcnow(), {})
    entries.sort(key=lambda e: e.number)
    return MemberList(
        members=[
            Member(
                user_id=e.user_id,
                email=e.email,
                display_name=e.display_name,
                account_id=e.account_id,
                joined_at=e.joined_at,
                equity=e.equity,
                trades=e.trades,
            )
            for e in entries
        ]
    )


@router.get("/{league_id}/members", responses=documented(401, 403, 404))
async def list_members(league_id: str, user: CurrentUser) -> MemberList:
    """The owner's list of members, with their emails (for grading), equity and number of fills."""
    return await run_in_threadpool(_members, leagues.parse_id(league_id), user.id)


def _member_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise leagues.member_not_found() from None


@router.get("/{league_id}/members/{user_id}/portfolio", responses=documented(401, 403, 404))
def member_portfolio(league_id: str, user_id: str, user: CurrentUser, db: DbDep) -> portfolio.Portfolio:
    """A member's league account, as they see it (the owner's eyes only)."""
    account = leagues.member_account(
        db, league_id=leagues.parse_id(league_id), owner_id=user.id, member_id=_member_id(user_id)
    )
    return portfolio.value(db, account.id, runtime.current().hub.latest)


@router.get("/{league_id}/members/{user_id}/orders", responses=documented(400, 401, 403, 404))
def member_orders(
    league_id: str,
    user_id: str,
    user: CurrentUser,
    db: DbDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrderList:
    """A member's orders in their league account, newest first (the owner's eyes only)."""
    account = leagues.member_account(
        db, league_id=leagues.parse_id(league_id), owner_id=user.id, member_id=_member_id(user_id)
    )
    return OrderList(orders=orders.list_orders(db, account_id=account.id, status=status_, limit=limit))


@router.delete(
    "/{league_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 403, 404, 409)
)
async def remove_member(league_id: str, user_id: str, user: CurrentUser) -> Response:
    """Remove a member: their resting orders are canceled, their league account closes (its keys die), and they
    cannot join again."""
    rt, chosen = runtime.current(), leagues.parse_id(league_id)
    member, canceled = await leagues.remove(
        rt.engine,
        rt.store,
        rt.cache,
        rt.bus,
        league_id=chosen,
        owner_id=user.id,
        member_id=_member_id(user_id),
        now=utcnow(),
    )
    await accounts.announce_canceled(rt.bus, member.user_id, canceled)
    rt.leaderboards.forget(chosen)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{league_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}, **documented(400, 401, 403, 404)},
)
def export(
    league_id: str, user: CurrentUser, db: DbDep, what: Annotated[Literal["standings", "trades"], Query()] = "standings"
) -> Response:
    """The owner's CSV: the standings (with emails, for grading), or every fill of the league's accounts."""
    league = leagues.owned(db, leagues.parse_id(league_id), user.id)
    if what == "trades":
        text = exports.trades_csv(db, league)
    else:
        text = exports.standings_csv(db, league, dict(runtime.current().hub.latest), utcnow())
    filename = f"league-{league.id}-{what}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{league_id}/leaderboard", responses=documented(401, 404))
async def leaderboard(league_id: str, caller: CurrentCaller) -> standings.Leaderboard:
    """The standings, ranked by equity (ties share a rank), refreshed every few seconds; `final` once the league
    has ended and every position was settled. Display names only."""
    rt, chosen = runtime.current(), leagues.parse_id(league_id)

    def find():
        with session_scope(rt.engine) as db:
            return leagues.visible(db, chosen, caller.user.id)

    league = await run_in_threadpool(find)
    board = await rt.leaderboards.board(rt.engine, league, rt.hub.latest)
    return board.for_viewer(caller.user.id)
