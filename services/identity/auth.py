"""Accounts and sessions: register, log in, authenticate a token, list and end sessions, change the password.

Every function here but `authenticate_cached` blocks (password hashing, database): call it from a worker
thread, never the event loop.
"""

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from passlib.context import CryptContext
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.types import utcnow
from models.user import LoginResult, LoginSession, SessionPublic, User, UserPublic
from services.identity.clients import browser_name
from services.infra.bus import EVENTS_CHANNEL, Bus
from services.infra.cache import Cache
from services.infra.errors import DomainError
from services.trading import accounts
from services.watchlists import watchlist

SESSION_LIFETIME = timedelta(hours=24)  # absolute: a token never outlives this, however busy
CHAIN_LIFETIME = timedelta(days=30)  # refreshes extend a login this long at most; then the user logs in again
MAX_SESSIONS = 50  # per user: a login beyond this ends the oldest session
CACHE_TTL = 3600  # seconds a session stays in the cache after its last use

# Failed logins, counted in fixed 15-minute windows that simply expire: an attacker can slow a
# victim's login down but never lock the account for good. The tight limit is per (email, address),
# so guessing from one place does not stop the owner logging in from another.
LOGIN_WINDOW = 15 * 60
LOGIN_LIMITS = (("email+addr", 5), ("addr", 50), ("email", 25))
PASSWORD_CHANGE_FAILURES = 5  # wrong current passwords per user per window

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")


@cache
def _dummy_hash() -> str:
    """A real hash to verify against when the email is unknown, so both cases take the same time."""
    return _passwords.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _passwords.verify(password, password_hash)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(db: Session, *, email: str, password: str, display_name: str | None, starting_cash: Decimal) -> UserPublic:
    """Create a user, their default account funded with the starting cash and a starter watchlist, in one
    transaction."""
    email = normalize_email(email)
    user = User(
        email=email,
        display_name=(display_name or "").strip() or email.split("@")[0],
        password_hash=hash_password(password),
    )
    db.add(user)
    try:
        db.flush()  # the user row first: the account and ledger rows refer to it
    except IntegrityError as exc:
        db.rollback()
        if "uq_users_email_lower" in str(exc.orig):
            raise DomainError("EMAIL_TAKEN", "An account with this email already exists.") from None
        raise
    accounts.open_account(
        db,
        user_id=user.id,
        name=accounts.DEFAULT_NAME,
        starting_cash=starting_cash,
        is_default=True,
        now=user.created_at,
    )
    watchlist.add_defaults(db, user.id)
    db.commit()
    return UserPublic.of(user)


def _failure_counters(email: str, address: str) -> dict[str, tuple[str, int]]:
    """kind -> (cache key, limit) for the failed-login counters of this attempt."""
    parts = {"email+addr": f"{email}|{address}", "addr": address, "email": email}
    return {kind: (f"login-fail:{kind}:{parts[kind]}", limit) for kind, limit in LOGIN_LIMITS}


def _refuse_if_limited(cache: Cache, counters: dict[str, tuple[str, int]]) -> None:
    for key, limit in counters.values():
        count, retry_after = cache.count(key)
        if count >= limit:
            raise DomainError(
                "RATE_LIMITED",
                "Too many wrong passwords. Please wait before trying again.",
                {"retryAfter": retry_after},
                retry_after=retry_after,
            )


def login(
    db: Session,
    cache: Cache,
    bus: Bus,
    *,
    email: str,
    password: str,
    client_address: str,
    user_agent: str | None = None,
) -> LoginResult:
    """Check the password and open a new session (a new token every time; beyond MAX_SESSIONS the oldest ends);
    an unknown email fails exactly like a wrong password. The browser and address are kept for the sessions list."""
    email = normalize_email(email)
    counters = _failure_counters(email, client_address)
    _refuse_if_limited(cache, counters)
    user = db.exec(select(User).where(User.email == email)).first()
    if not verify_password(password, user.password_hash if user else _dummy_hash()) or user is None:
        for key, _ in counters.values():
            cache.hit(key, window=LOGIN_WINDOW)
        raise DomainError("INVALID_CREDENTIALS", "The email or password is incorrect.")
    # The owner got in: forget the failures against this account (not those of the address).
    cache.delete(counters["email+addr"][0], counters["email"][0])

    now = utcnow()
    token = secrets.token_urlsafe(32)  # 256 bits
    session = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        user_agent=(user_agent or "")[:300] or None,
        client_address=client_address[:64],
    )
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    db.add(session)
    db.flush()
    oldest = (
        select(LoginSession.token_hash)
        .where(LoginSession.user_id == user.id)
        .order_by(LoginSession.created_at.desc(), LoginSession.token_hash)
        .offset(MAX_SESSIONS)
    )
    _revoke(db, cache, bus, list(db.exec(oldest)))  # commits
    public = UserPublic.of(user)
    _cache_session(cache, session.token_hash, public, session.expires_at)
    return LoginResult(token=token, user=public, expires_at=session.expires_at)


def refresh(db: Session, cache: Cache, bus: Bus, token: str) -> LoginResult:
    """Trade a live token for a new one that lives SESSION_LIFETIME from now, but not past the end of its chain
    (CHAIN_LIFETIME after the login that began it); the old token ends at once, everywhere. UNAUTHORIZED for a
    token that is unknown, expired, logged out, already refreshed, or whose chain has ended."""
    result, old_digest = _next_of_chain(db, token)
    _revoke(db, cache, bus, [old_digest])  # commits the new session with the end of the old
    _cache_session(cache, token_hash(result.token), result.user, result.expires_at)
    return result


def renew(db: Session, cache: Cache, token: str) -> LoginResult:
    """`refresh`'s new token, the old one left alive for the caller to end (with `logout`) once it holds the new
    one: an open page stores it first, so its other tabs, reloaded by the old token's end, find it."""
    result, _ = _next_of_chain(db, token)
    db.commit()
    _cache_session(cache, token_hash(result.token), result.user, result.expires_at)
    return result


def _next_of_chain(db: Session, token: str) -> tuple[LoginResult, str]:
    """The next session of a live token's chain (flushed, not committed), and the old token's hash."""
    now = utcnow()
    row = db.exec(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.expires_at > now)
        .with_for_update(of=LoginSession)  # two refreshes of one token: the second finds it gone
    ).first()
    if row is None:
        raise DomainError("UNAUTHORIZED", "The session is invalid or has expired; please log in again.")
    old, user = row
    chain_ends = old.created_at + CHAIN_LIFETIME
    if chain_ends <= now:
        raise DomainError("UNAUTHORIZED", "Sessions last 30 days from logging in; please log in again.")
    new_token = secrets.token_urlsafe(32)
    session = LoginSession(
        token_hash=token_hash(new_token),
        user_id=user.id,
        created_at=old.created_at,  # the same login: listed, ordered and ended (MAX_SESSIONS) as it was
        expires_at=min(now + SESSION_LIFETIME, chain_ends),
        user_agent=old.user_agent,
        client_address=old.client_address,
    )
    db.add(session)
    db.flush()
    return LoginResult(token=new_token, user=UserPublic.of(user), expires_at=session.expires_at), old.token_hash


@dataclass(frozen=True)
class SessionTimes:
    expires_at: datetime  # when this token ends
    chain_ends_at: datetime  # when no refresh can extend it any more

    @property
    def final(self) -> bool:
        """No refresh can make this token live longer."""
        return self.expires_at >= self.chain_ends_at


def session_times(db: Session, token: str) -> SessionTimes | None:
    """When a live token ends and when its chain does; None for a token that is not live."""
    session = db.exec(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token), LoginSession.expires_at > utcnow())
    ).first()
    if session is None:
        return None
    return SessionTimes(session.expires_at, session.created_at + CHAIN_LIFETIME)


def _cache_session(cache: Cache, digest: str, user: UserPublic, expires_at: datetime) -> None:
    ttl = min(CACHE_TTL, int((expires_at - utcnow()).total_seconds()))
    if ttl > 0:
        entry = {"user": user.model_dump(mode="json"), "expiresAt": expires_at.isoformat()}
        cache.set(f"session:{digest}", json.dumps(entry), ttl=ttl)


def _cached_user(entry: str) -> UserPublic | None:
    """The user of a cached session; None once the session has expired."""
    session = json.loads(entry)
    if datetime.fromisoformat(session["expiresAt"]) > utcnow():
        return UserPublic.model_validate(session["user"])
    return None


async def authenticate_cached(cache: Cache, token: str | None) -> UserPublic | None:
    """The token's user from the cache, without blocking the event loop; None when only `authenticate` can
    tell (no token, a cache miss, an expired session)."""
    if not token:
        return None
    cached = await cache.aget(f"session:{token_hash(token)}", refresh_ttl=CACHE_TTL)
    return _cached_user(cached) if cached is not None else None


def authenticate(db: Session, cache: Cache, token: str | None) -> UserPublic:
    """The user a token belongs to; UNAUTHORIZED if it is missing, unknown, expired or logged out."""
    if not token:
        raise DomainError("UNAUTHORIZED", "Authentication is required.")
    digest = token_hash(token)
    cached = cache.get(f"session:{digest}", refresh_ttl=CACHE_TTL)
    if cached is not None:
        user = _cached_user(cached)
        if user is not None:
            return user
        cache.delete(f"session:{digest}")
        raise DomainError("UNAUTHORIZED", "The session has expired; please log in again.")
    row = db.exec(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == digest, LoginSession.expires_at > utcnow())
    ).first()
    if row is None:
        raise DomainError("UNAUTHORIZED", "The session is invalid or has expired; please log in again.")
    session, user = row
    public = UserPublic.of(user)
    _cache_session(cache, digest, public, session.expires_at)
    return public


def _revoke(db: Session, cache: Cache, bus: Bus, digests: list[str]) -> None:
    """End these sessions everywhere: the database rows (committed), the shared cache, and the sockets of every
    instance (each listens for its own session's revocation, even while its token is still being checked)."""
    if digests:
        db.execute(delete(LoginSession).where(LoginSession.token_hash.in_(digests)))
    db.commit()
    if digests:
        cache.delete(*(f"session:{digest}" for digest in digests))
    for digest in digests:
        bus.publish(EVENTS_CHANNEL, json.dumps({"type": "session_revoked", "tokenHash": digest}))


def logout(db: Session, cache: Cache, bus: Bus, token: str) -> None:
    """End this session everywhere."""
    _revoke(db, cache, bus, [token_hash(token)])


def _session_hashes(db: Session, user_id: uuid.UUID) -> list[str]:
    return list(db.exec(select(LoginSession.token_hash).where(LoginSession.user_id == user_id)))


def logout_everywhere(db: Session, cache: Cache, bus: Bus, *, user_id: uuid.UUID) -> None:
    """End every session of the user, this one included."""
    _revoke(db, cache, bus, _session_hashes(db, user_id))


def session_id(digest: str) -> str:
    """The public name of a session: derived from its token hash, which itself stays private."""
    return hashlib.sha256(f"session-id:{digest}".encode()).hexdigest()[:32]


def list_sessions(db: Session, *, user_id: uuid.UUID, token: str) -> list[SessionPublic]:
    """The user's live sessions, newest first; `current` marks the one `token` belongs to."""
    current = token_hash(token)
    rows = db.exec(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.expires_at > utcnow())
        .order_by(LoginSession.created_at.desc(), LoginSession.token_hash)
    )
    return [
        SessionPublic(
            id=session_id(row.token_hash),
            created_at=row.created_at,
            expires_at=row.expires_at,
            current=row.token_hash == current,
            browser=browser_name(row.user_agent),
            address=row.client_address,
        )
        for row in rows
    ]


def revoke_session(db: Session, cache: Cache, bus: Bus, *, user_id: uuid.UUID, session: str) -> None:
    """End one of the user's sessions by its public id; another user's is SESSION_NOT_FOUND like a made-up one."""
    digests = [digest for digest in _session_hashes(db, user_id) if session_id(digest) == session]
    if not digests:
        raise DomainError("SESSION_NOT_FOUND", "There is no such session.")
    _revoke(db, cache, bus, digests)


def change_password(
    db: Session,
    cache: Cache,
    bus: Bus,
    *,
    user_id: uuid.UUID,
    token: str,
    current_password: str,
    new_password: str,
) -> None:
    """Re-check the current password, store the new one, and end every other session of the user; the session
    of `token` stays signed in. Wrong current passwords have a counter of their own per user (not the login
    counters, so a token's holder cannot lock the owner out of logging in): a stolen token cannot guess the
    password faster than PASSWORD_CHANGE_FAILURES per LOGIN_WINDOW."""
    user = db.exec(select(User).where(User.id == user_id).with_for_update()).one()
    counters = {"user": (f"password-fail:{user_id}", PASSWORD_CHANGE_FAILURES)}
    _refuse_if_limited(cache, counters)
    if not verify_password(current_password, user.password_hash):
        cache.hit(counters["user"][0], window=LOGIN_WINDOW)
        raise DomainError("INVALID_CREDENTIALS", "The current password is incorrect.")
    if new_password == current_password:
        message = "Choose a new password different from the current one."
        raise DomainError("VALIDATION_ERROR", message, [{"field": "newPassword", "message": message}])
    user.password_hash = hash_password(new_password)
    db.add(user)
    keep = token_hash(token)
    _revoke(db, cache, bus, [digest for digest in _session_hashes(db, user_id) if digest != keep])  # commits
