"""Organising leagues: create, list, read, change, delete; join (by invite code, or a public one), leave, and the
owner's view of the members. Every member trades a league account of their own, opened by the accounts service
with the league's starting cash and closed by it when they go.

Functions taking a `db` Session block (call them from a worker thread); the async ones change money through the
store and take the engine for their short reads, so no transaction is held open across them (SQLite has one
writer).
"""

import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from anyio import to_thread
from sqlalchemy import Engine, func, or_
from sqlmodel import Session, select

from models.account import Account, AccountPublic
from models.league import (
    League,
    LeagueChange,
    LeagueCreate,
    LeagueMember,
    LeaguePublic,
    LeagueRules,
    LeagueRulesPublic,
    LeagueStatus,
    Visibility,
)
from models.market import Quote
from models.order import Order
from services.infra.bus import Bus
from services.infra.cache import Cache
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.market import symbols as listed
from services.trading import accounts
from services.trading.store import Store

INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud in a classroom
INVITE_LENGTH = 8
ACCOUNT_NAME_LENGTH = 50
# What may change once a league runs (each of the two dates only to later).
_WHILE_RUNNING = {"name", "description", "join_until", "ends_at"}


def not_found() -> DomainError:
    return DomainError("LEAGUE_NOT_FOUND", "There is no such league.")


def not_owner() -> DomainError:
    return DomainError("NOT_LEAGUE_OWNER", "Only the league's owner may do this.")


def ended() -> DomainError:
    return DomainError("LEAGUE_ENDED", "This league has ended.")


def started() -> DomainError:
    return DomainError(
        "LEAGUE_STARTED",
        "This league has started: only its name, description, and a later join deadline or end can change.",
    )


def member_not_found() -> DomainError:
    return DomainError("MEMBER_NOT_FOUND", "This user is not a member of the league.")


def _invalid(problems: list[dict[str, str]]) -> DomainError:
    fields = ", ".join(p["field"] for p in problems)
    return DomainError("VALIDATION_ERROR", f"Invalid league: check {fields}.", problems)


def parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise not_found() from None


def invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


# -- reading -------------------------------------------------------------------------------------------------------


def membership(db: Session, league_id: uuid.UUID, user_id: uuid.UUID) -> LeagueMember | None:
    return db.get(LeagueMember, (league_id, user_id))


def active_members(db: Session, league_id: uuid.UUID) -> list[LeagueMember]:
    query = select(LeagueMember).where(
        LeagueMember.league_id == league_id, LeagueMember.left_at.is_(None), LeagueMember.removed_at.is_(None)
    )
    return list(db.exec(query.order_by(LeagueMember.number)))


def _member_counts(db: Session, league_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(league_ids)
    if not ids:
        return {}
    query = (
        select(LeagueMember.league_id, func.count())
        .where(LeagueMember.league_id.in_(ids), LeagueMember.left_at.is_(None), LeagueMember.removed_at.is_(None))
        .group_by(LeagueMember.league_id)
    )
    return dict(db.exec(query).all())


def visible(db: Session, league_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False) -> League:
    """A league the user may see: a public one, their own, or one they play in; LEAGUE_NOT_FOUND otherwise."""
    query = select(League).where(League.id == league_id)
    league = db.exec(query.with_for_update() if lock else query).first()
    if league is None:
        raise not_found()
    if league.visibility == Visibility.PUBLIC or league.owner_id == user_id:
        return league
    member = membership(db, league_id, user_id)
    if member is None or not member.active:
        raise not_found()
    return league


def owned(db: Session, league_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False) -> League:
    """The user's own league; a stranger to a private one gets LEAGUE_NOT_FOUND, anyone else who sees it
    NOT_LEAGUE_OWNER."""
    league = visible(db, league_id, user_id, lock=lock)
    if league.owner_id != user_id:
        raise not_owner()
    return league


def public(league: League, *, viewer_id: uuid.UUID, member_count: int, now: datetime) -> LeaguePublic:
    return LeaguePublic(
        id=league.id,
        name=league.name,
        description=league.description,
        owner_id=league.owner_id,
        starting_cash=league.starting_cash,
        starts_at=league.starts_at,
        ends_at=league.ends_at,
        join_until=league.join_until,
        symbols=league.symbols,
        rules=LeagueRulesPublic(
            max_position_percent=league.max_position_percent,
            allow_fractional=league.allow_fractional,
            order_types=league.order_types,
            min_price=league.min_price,
        ),
        visibility=league.visibility,
        status=league.status_at(now),
        member_count=member_count,
        invite_code=league.invite_code if league.owner_id == viewer_id else None,
    )


def public_of(db: Session, league: League, viewer_id: uuid.UUID, now: datetime) -> LeaguePublic:
    count = _member_counts(db, [league.id]).get(league.id, 0)
    return public(league, viewer_id=viewer_id, member_count=count, now=now)


def get(db: Session, *, league_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> LeaguePublic:
    return public_of(db, visible(db, league_id, user_id), user_id, now)


def list_leagues(db: Session, *, user_id: uuid.UUID, public_only: bool, now: datetime) -> list[LeaguePublic]:
    """The leagues the user owns or plays in, or (`public_only`) every public one that has not ended; soonest
    ending first."""
    if public_only:
        query = select(League).where(League.visibility == Visibility.PUBLIC, League.ends_at > now)
    else:
        playing = select(LeagueMember.league_id).where(
            LeagueMember.user_id == user_id, LeagueMember.left_at.is_(None), LeagueMember.removed_at.is_(None)
        )
        query = select(League).where(or_(League.owner_id == user_id, League.id.in_(playing)))
    found = list(db.exec(query.order_by(League.ends_at, League.id)))
    counts = _member_counts(db, (league.id for league in found))
    return [public(lg, viewer_id=user_id, member_count=counts.get(lg.id, 0), now=now) for lg in found]


# -- organising ----------------------------------------------------------------------------------------------------


def _apply_rules(league: League, rules: LeagueRules) -> None:
    league.max_position_percent = rules.max_position_percent
    league.allow_fractional = rules.allow_fractional
    league.order_types = None if rules.order_types is None else [str(t) for t in rules.order_types]
    league.min_price = rules.min_price


def _check(league: League, now: datetime, *, changed: set[str]) -> None:
    """The whole league makes sense: dates in order, symbols listed."""
    problems = []
    if league.ends_at <= league.starts_at:
        problems.append({"field": "endsAt", "message": "must be after startsAt"})
    elif "ends_at" in changed and league.ends_at <= now:
        problems.append({"field": "endsAt", "message": "must be in the future"})
    if league.join_until > league.ends_at:
        problems.append({"field": "joinUntil", "message": "must not be after endsAt"})
    unknown = [s for s in league.symbols or () if not listed.is_listed(s)]
    if unknown:
        problems.append({"field": "symbols", "message": f"not listed: {', '.join(unknown)}"})
    if problems:
        raise _invalid(problems)


def create(
    db: Session, *, owner_id: uuid.UUID, wanted: LeagueCreate, default_cash: Decimal, now: datetime
) -> LeaguePublic:
    league = League(
        owner_id=owner_id,
        name=wanted.name,
        description=wanted.description,
        starting_cash=wanted.starting_cash or default_cash,
        starts_at=wanted.starts_at,
        ends_at=wanted.ends_at,
        join_until=wanted.join_until or wanted.ends_at,
        symbols=wanted.symbols,
        visibility=wanted.visibility,
        invite_code=invite_code(),
        created_at=now,
        updated_at=now,
    )
    _apply_rules(league, wanted.rules)
    _check(league, now, changed={"ends_at"})
    db.add(league)
    db.commit()
    db.refresh(league)
    return public(league, viewer_id=owner_id, member_count=0, now=now)


def _change(db: Session, league_id: uuid.UUID, user_id: uuid.UUID, wanted: LeagueChange, now: datetime):
    """Change the league (locked); returns it, and whether its starting cash moved (members' accounts follow)."""
    league = owned(db, league_id, user_id, lock=True)
    given = wanted.model_fields_set
    status, cash_before = league.status_at(now), league.starting_cash
    if status == LeagueStatus.ENDED:
        raise ended()
    if status == LeagueStatus.RUNNING:
        later = all(
            getattr(wanted, name) is None or getattr(wanted, name) > getattr(league, name)
            for name in ("join_until", "ends_at")
        )
        if not given <= _WHILE_RUNNING or not later:
            raise started()
    for name in given - {"rules"}:
        value = getattr(wanted, name)
        if value is None and name not in {"symbols", "join_until"}:
            raise _invalid([{"field": _camel(name), "message": "may not be null"}])
        setattr(league, name, value)
    if "join_until" in given and wanted.join_until is None:
        league.join_until = league.ends_at  # back to the default
    if wanted.rules is not None:
        _apply_rules(league, wanted.rules)
    _check(league, now, changed=given)
    cash_moved = league.starting_cash != cash_before
    league.updated_at = now
    db.add(league)
    db.commit()
    db.refresh(league)
    return league, cash_moved


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def change(
    engine: Engine, store: Store, *, league_id: uuid.UUID, user_id: uuid.UUID, wanted: LeagueChange, now: datetime
) -> LeaguePublic:
    """Before the start anything may change (a new starting cash re-funds the members who joined already); after
    it only the name, the description, a later join deadline and a later end."""

    def work():
        with session_scope(engine) as db:
            league, cash_moved = _change(db, league_id, user_id, wanted, now)
            members = active_members(db, league_id) if cash_moved else []
            return league, members

    league, members = await to_thread.run_sync(work)
    for member in members:
        await accounts.refund(
            store, user_id=member.user_id, account_id=member.account_id, starting_cash=league.starting_cash, now=now
        )
    return await to_thread.run_sync(_public_in_session, engine, league, user_id, now)


def _public_in_session(engine: Engine, league: League, viewer_id: uuid.UUID, now: datetime) -> LeaguePublic:
    with session_scope(engine) as db:
        return public_of(db, league, viewer_id, now)


async def delete(
    engine: Engine, store: Store, cache: Cache, bus: Bus, *, league_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    """Delete a league that has not started; its members' accounts close."""

    def work() -> list[LeagueMember]:
        with session_scope(engine) as db:
            league = owned(db, league_id, user_id, lock=True)  # a join waits for this, then finds no league
            if league.status_at(now) != LeagueStatus.UPCOMING:
                raise started()
            members = list(db.exec(select(LeagueMember).where(LeagueMember.league_id == league_id)))
            for member in members:
                db.delete(member)
            db.flush()
            db.delete(league)
            db.commit()
            return members

    for member in await to_thread.run_sync(work):
        await accounts.close_league_account(
            store, cache, bus, user_id=member.user_id, account_id=member.account_id, now=now
        )


def end(db: Session, *, league_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> LeaguePublic:
    """The owner ends a running league now: trading stops at once, and the league clock settles it within
    seconds (at the close of the last minute candle ending by now) and freezes the standings."""
    league = owned(db, league_id, user_id, lock=True)
    status = league.status_at(now)
    if status == LeagueStatus.ENDED:
        raise ended()
    if status == LeagueStatus.UPCOMING:
        raise DomainError("LEAGUE_NOT_STARTED", "This league has not started: delete it instead.")
    league.ends_at = league.updated_at = now
    league.join_until = min(league.join_until, now)
    db.add(league)
    db.commit()
    db.refresh(league)
    return public_of(db, league, user_id, now)


# -- joining and leaving -------------------------------------------------------------------------------------------


def _by_code(db: Session, code: str) -> uuid.UUID:
    found = db.exec(select(League.id).where(League.invite_code == code.upper())).first()
    if found is None:
        raise not_found()  # a wrong code answers like a missing league
    return found


def invited(db: Session, *, code: str, user_id: uuid.UUID, now: datetime) -> LeaguePublic:
    """The league an invite code names, as its holder may see it before joining."""
    return public_of(db, db.get(League, _by_code(db, code)), user_id, now)


def join(
    db: Session,
    *,
    user_id: uuid.UUID,
    league_id: uuid.UUID | None = None,
    code: str | None = None,
    quotes: Mapping[str, Quote],
    now: datetime,
) -> tuple[LeaguePublic, AccountPublic]:
    """Join a league by its invite code, or a public one (or one's own) by id: a league account opens with the
    league's starting cash. The league row is locked, so joins queue behind each other and a deletion."""
    if code is not None:
        league_id = _by_code(db, code)
        league = db.exec(select(League).where(League.id == league_id).with_for_update()).first()
        if league is None:
            raise not_found()
    else:
        league = visible(db, league_id, user_id, lock=True)
    member = membership(db, league.id, user_id)
    if member is not None and member.removed_at is not None:
        raise DomainError("REMOVED_FROM_LEAGUE", "The league's owner removed you from this league.")
    if member is not None:
        raise DomainError("ALREADY_JOINED", "You have already joined this league.")
    if now >= league.join_until or league.status_at(now) == LeagueStatus.ENDED:
        raise DomainError("LEAGUE_CLOSED", "This league no longer takes new members.")
    joined = db.exec(select(func.count()).select_from(LeagueMember).where(LeagueMember.league_id == league.id)).one()
    account = accounts.open_account(
        db,
        user_id=user_id,
        name=league.name[:ACCOUNT_NAME_LENGTH],
        starting_cash=league.starting_cash,
        is_default=False,
        now=now,
        league_id=league.id,
    )
    db.add(LeagueMember(league_id=league.id, user_id=user_id, account_id=account.id, number=joined + 1, joined_at=now))
    db.commit()
    db.refresh(account)
    db.refresh(league)
    return public_of(db, league, user_id, now), accounts.public(db, account, quotes)


async def _end_membership(
    engine: Engine, store: Store, cache: Cache, bus: Bus, member: LeagueMember, field: str, now: datetime
) -> list[Order]:
    """Close the member's account (its resting orders canceled, its keys dead), then mark them gone. In this order,
    so that a retry after a failure in between finishes the job."""
    canceled = await accounts.close_league_account(
        store, cache, bus, user_id=member.user_id, account_id=member.account_id, now=now
    )

    def mark() -> None:
        with session_scope(engine) as db:
            row = membership(db, member.league_id, member.user_id)
            setattr(row, field, now)
            db.add(row)
            db.commit()

    await to_thread.run_sync(mark)
    return canceled


async def leave(
    engine: Engine, store: Store, cache: Cache, bus: Bus, *, league_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> list[Order]:
    """A member leaves a league that has not ended: gone from the standings. Returns the orders canceled."""

    def find() -> LeagueMember:
        with session_scope(engine) as db:
            league = visible(db, league_id, user_id)
            member = membership(db, league_id, user_id)
            if member is None or not member.active:
                raise not_found()
            if league.status_at(now) == LeagueStatus.ENDED:
                raise ended()
            return member

    return await _end_membership(engine, store, cache, bus, await to_thread.run_sync(find), "left_at", now)


async def remove(
    engine: Engine,
    store: Store,
    cache: Cache,
    bus: Bus,
    *,
    league_id: uuid.UUID,
    owner_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
) -> tuple[LeagueMember, list[Order]]:
    """The owner removes a member, who may not come back; the standings of an ended league stay as they are."""

    def find() -> LeagueMember:
        with session_scope(engine) as db:
            league = owned(db, league_id, owner_id)
            member = membership(db, league_id, member_id)
            if member is None or not member.active:
                raise member_not_found()
            if league.status_at(now) == LeagueStatus.ENDED:
                raise ended()
            return member

    member = await to_thread.run_sync(find)
    return member, await _end_membership(engine, store, cache, bus, member, "removed_at", now)


def member_account(db: Session, *, league_id: uuid.UUID, owner_id: uuid.UUID, member_id: uuid.UUID) -> Account:
    """A member's league account, for its owner's eyes."""
    owned(db, league_id, owner_id)
    member = membership(db, league_id, member_id)
    if member is None or not member.active:
        raise member_not_found()
    return db.get(Account, member.account_id)
