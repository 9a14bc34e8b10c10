"""The race of a league: its top members' equity over the league's life, from the equity snapshots the execution
leader writes every minute, each line starting at the member's starting cash when they joined (or the league
started) and ending at their equity on the leaderboard."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from models.league import League, LeagueMember
from models.portfolio import EquitySnapshot

if TYPE_CHECKING:  # standings serves the race, so it imports this module
    from services.leagues.standings import Board

TOP = 5  # members drawn: the leaderboard's first five
MAX_POINTS = 120  # per member: enough for a smooth line over weeks, small enough to send to every viewer


@dataclass(frozen=True)
class Runner:
    """One member's line: their standings name and (moment, equity) points, oldest first."""

    display_name: str
    user_id: uuid.UUID
    points: list[tuple[datetime, Decimal]]


def race(db, league: League, board: "Board") -> list[Runner]:
    """The top members of `board`, in its order, with their equity from the start to the board's moment (the end,
    once final)."""
    top = board.lines[:TOP]
    if not top:
        return []
    users = [uuid.UUID(line["userId"]) for line in top]
    members = {
        user_id: (account_id, joined_at)
        for user_id, account_id, joined_at in db.execute(
            select(LeagueMember.user_id, LeagueMember.account_id, LeagueMember.joined_at).where(
                LeagueMember.league_id == league.id, LeagueMember.user_id.in_(users)
            )
        )
    }
    until = min(board.as_of, league.ends_at)
    snapshots: dict[uuid.UUID, list[tuple[datetime, Decimal]]] = {account: [] for account, _ in members.values()}
    for account_id, t, equity in db.execute(
        select(EquitySnapshot.account_id, EquitySnapshot.t, EquitySnapshot.equity)
        .where(
            EquitySnapshot.account_id.in_(list(snapshots)),
            EquitySnapshot.t > league.starts_at,
            EquitySnapshot.t < until,
        )
        .order_by(EquitySnapshot.t)
    ):
        snapshots[account_id].append((t, equity))
    runners = []
    for line, user_id in zip(top, users, strict=True):
        if user_id not in members:
            continue  # a member removed since the board was computed
        account_id, joined_at = members[user_id]
        start = max(league.starts_at, joined_at)
        recorded = [(t, equity) for t, equity in snapshots[account_id] if t > start]
        points = [(start, league.starting_cash), *thinned(recorded, MAX_POINTS), (until, Decimal(line["equity"]))]
        runners.append(Runner(line["displayName"], user_id, points))
    return runners


def thinned(points: list, most: int) -> list:
    """At most `most` of the points, evenly spread, the last one kept."""
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(i * step)] for i in range(most - 1)] + [points[-1]]
