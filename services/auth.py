"""Accounts and sessions: register, log in, authenticate a token, log out.

Every function here blocks (password hashing, database): call it from a worker thread, never the event loop.
"""

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from passlib.context import CryptContext
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.account import Account, LedgerEntry
from models.types import utcnow
from models.user import LoginResult, LoginSession, User, UserPublic
from services import watchlist
from services.bus import Bus
from services.cache import Cache
from services.errors import DomainError

SESSION_LIFETIME = timedelta(hours=24)  # absolute: a session never outlives this, however busy
CACHE_TTL = 3600  # seconds a session stays in the cache after its last use
EVENTS_CHANNEL = "events"

# Failed logins, counted in fixed 15-minute windows that simply expire: an attacker can slow a
# victim's login down but never lock the account for good. The tight limit is per (email, address),
# so guessing from one place does not stop the owner logging in from another.
LOGIN_WINDOW = 15 * 60
LOGIN_LIMITS = (("email+addr", 5), ("addr", 50), ("email", 25))

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


def _public(user: User) -> UserPublic:
    return UserPublic(id=user.id, email=user.email, display_name=user.display_name, created_at=user.created_at)


def register(db: Session, *, email: str, password: str, display_name: str | None, starting_cash: Decimal) -> UserPublic:
    """Create a user, an account funded with the starting cash and a starter watchlist, in one transaction."""
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
    db.add(Account(user_id=user.id, cash=starting_cash))
    if starting_cash:
        db.add(LedgerEntry(user_id=user.id, amount=starting_cash, kind="deposit"))
    watchlist.add_defaults(db, user.id)
    db.commit()
    return _public(user)


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
                "Too many failed logins. Please wait before trying again.",
                {"retryAfter": retry_after},
                retry_after=retry_after,
            )


def login(db: Session, cache: Cache, *, email: str, password: str, client_address: str) -> LoginResult:
    """Check the password and open a new session; an unknown email fails exactly like a wrong password."""
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
    session = LoginSession(token_hash=token_hash(token), user_id=user.id, expires_at=now + SESSION_LIFETIME)
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    db.add(session)
    db.commit()
    public = _public(user)
    _cache_session(cache, session.token_hash, public, session.expires_at)
    return LoginResult(token=token, user=public, expires_at=session.expires_at)


def _cache_session(cache: Cache, digest: str, user: UserPublic, expires_at: datetime) -> None:
    ttl = min(CACHE_TTL, int((expires_at - utcnow()).total_seconds()))
    if ttl > 0:
        entry = {"user": user.model_dump(mode="json"), "expiresAt": expires_at.isoformat()}
        cache.set(f"session:{digest}", json.dumps(entry), ttl=ttl)


def authenticate(db: Session, cache: Cache, token: str | None) -> UserPublic:
    """The user a token belongs to; UNAUTHORIZED if it is missing, unknown, expired or logged out."""
    if not token:
        raise DomainError("UNAUTHORIZED", "Authentication is required.")
    digest = token_hash(token)
    cached = cache.get(f"session:{digest}", refresh_ttl=CACHE_TTL)
    if cached is not None:
        entry = json.loads(cached)
        if datetime.fromisoformat(entry["expiresAt"]) > utcnow():
            return UserPublic.model_validate(entry["user"])
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
    public = _public(user)
    _cache_session(cache, digest, public, session.expires_at)
    return public


def logout(db: Session, cache: Cache, bus: Bus, token: str) -> None:
    """End a session everywhere: the database row, the shared cache, and the sockets of every instance."""
    digest = token_hash(token)
    db.execute(delete(LoginSession).where(LoginSession.token_hash == digest))
    db.commit()
    cache.delete(f"session:{digest}")
    bus.publish(EVENTS_CHANNEL, json.dumps({"type": "session_revoked", "tokenHash": digest}))
