"""API keys: create, list and delete a user's keys, check a key pair, and keep `lastUsedAt` without a write per call.

A secret is 40 random characters, so a plain SHA-256 of it can be neither reversed nor guessed: checking a key costs
a hash and a cache read, as a session's token does, never a password hash. Like a session, a key is checked against
the cache on the event loop and against the database on a miss; a deleted key leaves a tombstone in the cache and
word on the bus, so it fails at once on every instance and its sockets close. While the bus is down that word
does not reach the other instances: each of them re-checks the keys of its own sockets against the database
instead (`close_dead_sockets`).

Every function here but `authenticate_cached`, `UseLog.record` and the `run` loops blocks (database): call it from a
worker thread.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import string
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from sqlalchemy import Engine, bindparam, func, or_, update
from sqlmodel import Session, select

from models.account import Account
from models.api_key import ApiKey, ApiKeyPublic
from models.user import User, UserPublic
from services.infra import db as databases
from services.infra.bus import EVENTS_CHANNEL, Bus
from services.infra.cache import Cache
from services.infra.errors import DomainError
from services.infra.event_hub import EventHub, key_credential

log = logging.getLogger(__name__)

KEY_LIMIT = 20  # live keys per user
CACHE_TTL = 3600  # seconds a key stays in the cache after its last use
USE_FLUSH_EVERY = 60.0  # seconds between writes of `lastUsedAt`, which the contract lets lag a minute
SECRET_LENGTH = 40
RECHECK_EVERY = 3.0  # seconds between checks of this instance's key sockets while the bus is down (contract: 10 s)
_KEY_ID = re.compile(r"PK[A-Z0-9]{18}")
_REVOKED = "revoked"  # the cache's tombstone: a check that read the row before the delete cannot put it back


@dataclass(frozen=True)
class KeyHolder:
    """What a checked key pair stands for: whose key it is and the one account it acts on."""

    id: uuid.UUID  # the key's row
    key_id: str
    account_id: uuid.UUID
    user: UserPublic


def _unauthorized() -> DomainError:
    return DomainError("UNAUTHORIZED", "The API key id or secret is wrong, or the key has been deleted.")


def secret_hash(key_id: str, secret: str) -> str:
    # Bound to its key id, so two keys never share a hash even if they shared a secret.
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def _cache_key(key_id: str) -> str:
    return f"api-key:{key_id}"


def _well_formed(key_id: str | None, secret: str | None) -> bool:
    """Whether the pair could be a key at all: anything else is refused before it reaches the cache or database."""
    return bool(key_id and secret and _KEY_ID.fullmatch(key_id) and len(secret) == SECRET_LENGTH)


def create(
    db: Session, *, user_id: uuid.UUID, account_id: uuid.UUID, name: str, now: datetime
) -> tuple[ApiKeyPublic, str]:
    """A new key of the user acting on `account_id` (one of the user's open accounts: the caller has checked it,
    holding its row lock, so the account cannot close meanwhile), and its secret, which is never shown again."""
    # Counted under the lock of the user's row, so two requests at once cannot both be the 21st.
    db.exec(select(User.id).where(User.id == user_id).with_for_update()).one()
    live = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    if db.exec(live).one() >= KEY_LIMIT:
        raise DomainError("KEY_LIMIT", f"You can hold at most {KEY_LIMIT} API keys; delete one first.")
    key_id = "PK" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(18))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(SECRET_LENGTH))
    key = ApiKey(
        user_id=user_id,
        account_id=account_id,
        name=name,
        key_id=key_id,
        secret_hash=secret_hash(key_id, secret),
        created_at=now,
    )
    db.add(key)
    db.commit()
    return ApiKeyPublic.of(key), secret


def list_keys(db: Session, user_id: uuid.UUID) -> list[ApiKeyPublic]:
    """The user's live keys, newest first."""
    query = select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    return [ApiKeyPublic.of(key) for key in db.exec(query.order_by(ApiKey.created_at.desc(), ApiKey.id))]


def delete(db: Session, cache: Cache, bus: Bus, *, user_id: uuid.UUID, key: uuid.UUID, now: datetime) -> None:
    """End one of the user's keys everywhere; another user's, a deleted or a made-up one is KEY_NOT_FOUND."""
    query = select(ApiKey.key_id).where(ApiKey.id == key, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    found = db.exec(query).first()
    if found is None:
        raise DomainError("KEY_NOT_FOUND", "There is no such API key.")
    _revoke(db, cache, bus, [found], now)


# The live keys of an account, locked: an account that closes ends them in its own transaction.
LOCK_LIVE_OF_ACCOUNT = (
    select(*ApiKey.__table__.columns)
    .where((ApiKey.__table__.c.account_id == bindparam("account")) & ApiKey.__table__.c.revoked_at.is_(None))
    .with_for_update()
)


def _revoke(db: Session, cache: Cache, bus: Bus, key_ids: list[str], now: datetime) -> None:
    """The rows (committed), then the shared cache and the sockets of every instance."""
    if key_ids:
        db.execute(update(ApiKey).where(ApiKey.key_id.in_(key_ids)).values(revoked_at=now))
    db.commit()
    announce_revoked(cache, bus, key_ids)


def announce_revoked(cache: Cache, bus: Bus, key_ids: list[str]) -> None:
    """Keys whose rows are revoked: out of the shared cache (a tombstone in their place) and their sockets closed
    on every instance (blocking: the cache and the bus may be Redis)."""
    names = [_cache_key(key_id) for key_id in key_ids]
    if names:
        cache.delete(*names)  # a delete Redis does not take is owed and retried (see RedisCache)
    for name in names:
        cache.set(name, _REVOKED, ttl=CACHE_TTL)
    for key_id in key_ids:
        bus.publish(EVENTS_CHANNEL, json.dumps({"type": "key_revoked", "keyId": key_id}))


def dead_among(db: Session, key_ids: set[str]) -> set[str]:
    """Those of these key ids that no longer work: deleted, never existed, or of a closed account (one query)."""
    live = db.exec(
        select(ApiKey.key_id)
        .join(Account, Account.id == ApiKey.account_id)
        .where(ApiKey.key_id.in_(key_ids), ApiKey.revoked_at.is_(None), Account.closed_at.is_(None))
    )
    return key_ids - set(live)


async def close_dead_sockets(engine: Engine, bus: Bus, events: EventHub) -> None:
    """For the life of the process: while the bus is degraded (a `key_revoked` from another instance may be lost),
    and once more when it recovers (for what was lost meanwhile), every RECHECK_EVERY seconds close this process's
    sockets whose key the database says is dead, as `key_revoked` would. Nothing is read while the bus is healthy."""
    recheck = False
    while True:
        await asyncio.sleep(RECHECK_EVERY)
        if not (bus.degraded or recheck):
            continue
        recheck = bus.degraded
        key_ids = events.key_ids()
        if not key_ids:
            continue
        try:
            dead = await to_thread.run_sync(_dead_in, engine, key_ids)
        except Exception as exc:  # the loop must outlive a database outage
            log.warning("could not re-check the keys of open sockets, retrying in %.0f s: %s", RECHECK_EVERY, exc)
            recheck = True
            continue
        if dead:
            log.info("closing the sockets of %d deleted API key(s) the bus did not tell of", len(dead))
        for key_id in dead:
            events.revoke(key_credential(key_id))


def _dead_in(engine: Engine, key_ids: set[str]) -> set[str]:
    with databases.session_scope(engine) as db:
        return dead_among(db, key_ids)


def _holder_of(entry: str, key_id: str, secret: str) -> KeyHolder | None:
    """The holder a cache entry vouches for, if the secret matches it; None for a wrong secret or a tombstone."""
    if entry == _REVOKED:
        return None
    cached = json.loads(entry)
    if not hmac.compare_digest(cached["secretHash"], secret_hash(key_id, secret)):
        return None
    user = UserPublic.model_validate(cached["user"])
    return KeyHolder(id=uuid.UUID(cached["id"]), key_id=key_id, account_id=uuid.UUID(cached["accountId"]), user=user)


async def authenticate_cached(cache: Cache, key_id: str | None, secret: str | None) -> KeyHolder | None:
    """The key pair's holder from the cache, without blocking the event loop; None when only `authenticate` can
    tell (a cache miss, a wrong pair)."""
    if not _well_formed(key_id, secret):
        return None
    cached = await cache.aget(_cache_key(key_id), refresh_ttl=CACHE_TTL)
    return _holder_of(cached, key_id, secret) if cached is not None else None


def authenticate(db: Session, cache: Cache, key_id: str | None, secret: str | None) -> KeyHolder:
    """The holder of a live key pair; UNAUTHORIZED for a wrong pair or a deleted key (or one of a closed account)."""
    if not _well_formed(key_id, secret):
        raise _unauthorized()
    cached = cache.get(_cache_key(key_id), refresh_ttl=CACHE_TTL)
    if cached is not None:
        holder = _holder_of(cached, key_id, secret)
        if holder is None:
            raise _unauthorized()
        return holder
    row = db.exec(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .join(Account, Account.id == ApiKey.account_id)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None), Account.closed_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row[0].secret_hash, secret_hash(key_id, secret)):
        raise _unauthorized()
    key, user = row
    holder = KeyHolder(id=key.id, key_id=key.key_id, account_id=key.account_id, user=UserPublic.of(user))
    entry = {
        "id": str(key.id),
        "accountId": str(key.account_id),
        "user": holder.user.model_dump(mode="json"),
        "secretHash": key.secret_hash,
    }
    cache.add(_cache_key(key_id), json.dumps(entry), ttl=CACHE_TTL)  # never over a tombstone
    return holder


_RECORD_USE = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("key"), or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("used")))
    .values(last_used_at=bindparam("used"))
)


class UseLog:
    """When each key was last used, held in this process and written at most once a USE_FLUSH_EVERY per key, so
    no call waits on a write for it."""

    def __init__(self) -> None:
        self._pending: dict[uuid.UUID, datetime] = {}
        self._lock = threading.Lock()  # recorded on the event loop, flushed from a worker thread

    def record(self, key: uuid.UUID, when: datetime) -> None:
        with self._lock:
            self._pending[key] = when

    def flush(self, engine: Engine) -> None:
        """Write the uses recorded since the last flush (blocking); on failure they wait for the next one."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with engine.begin() as connection:
                connection.execute(_RECORD_USE, [{"key": key, "used": used} for key, used in pending.items()])
        except Exception as exc:  # the loop must outlive a database outage
            log.warning("could not record API key uses, retrying in %.0f s: %s", USE_FLUSH_EVERY, exc)
            with self._lock:
                for key, used in pending.items():
                    self._pending.setdefault(key, used)  # a use recorded meanwhile is the later one

    async def run(self, engine: Engine) -> None:
        while True:
            await asyncio.sleep(USE_FLUSH_EVERY)
            await to_thread.run_sync(self.flush, engine)
