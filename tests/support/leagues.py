"""Helpers for the league tests: organise a league, join it, move its dates."""

import uuid
from datetime import UTC, datetime, timedelta

from models.league import League
from services.infra.db import session_scope
from services.runtime import Runtime


def iso(moment: datetime) -> str:
    return moment.isoformat()


def in_(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def create(api, headers, status: int = 201, **fields) -> dict:
    """A league (by default private, running from now for a day); the answer's league."""
    body = {"name": "Econ 101", "startsAt": in_(0), "endsAt": in_(86400), **fields}
    response = api.post("/api/leagues", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()["league"] if status == 201 else response.json()


def join(api, headers, league: dict) -> dict:
    """Join by the owner's invite code; the answer (league and account)."""
    response = api.post("/api/leagues/join", json={"inviteCode": league["inviteCode"]}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def move(started: Runtime, league_id: str, **dates: datetime) -> None:
    """Set a league's dates directly (a league that started or ended a while ago)."""
    with session_scope(started.engine) as db:
        league = db.get(League, uuid.UUID(league_id))
        for name, value in dates.items():
            setattr(league, name, value)
        db.add(league)
        db.commit()


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
