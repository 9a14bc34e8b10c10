"""The auth service on its own: SQLite file database, in-memory cache with a controllable clock."""

import asyncio
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models.account import Account, LedgerEntry
from models.types import utcnow
from models.user import LoginSession, User
from services.identity import auth
from services.infra import db
from services.infra.bus import LocalBus
from services.infra.cache import MemoryCache
from services.infra.errors import DomainError
from settings import load_settings
from tests.support.factories import PASSWORD, random_email


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    settings = load_settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('auth') / 'auth.db'}")
    engine = db.make_engine(settings)
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with db.session_scope(engine) as s:
        yield s


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return MemoryCache(clock=clock)


def register(session, email=None, cash="100000"):
    return auth.register(
        session, email=email or random_email(), password=PASSWORD, display_name=None, starting_cash=Decimal(cash)
    )


def test_password_hash_is_salted_argon2_and_verifies():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert auth.verify_password(PASSWORD, first)
    assert not auth.verify_password(PASSWORD + "x", first)


def test_register_funds_the_account_and_records_the_deposit(session):
    user = register(session, cash="2500.75")
    (account,) = session.exec(select(Account).where(Account.user_id == user.id)).all()
    assert account.cash == account.starting_cash == Decimal("2500.75") and account.reserved_cash == 0
    assert account.is_default and account.kind == "personal" and account.name == "Individual"
    ledger = session.exec(select(LedgerEntry).where(LedgerEntry.account_id == account.id)).all()
    assert [(e.kind, e.amount) for e in ledger] == [("deposit", Decimal("2500.75"))]


def test_register_normalizes_email_and_defaults_display_name(session):
    email = random_email()
    user = register(session, email="  " + email.upper() + " ")
    assert user.email == email
    assert user.display_name == email.split("@")[0]
    stored = session.get(User, user.id)
    assert stored.password_hash != PASSWORD and PASSWORD not in stored.password_hash


def test_email_is_unique_whatever_its_case(session):
    email = random_email()
    register(session, email=email)
    with pytest.raises(DomainError) as caught:
        register(session, email=email.upper())
    assert caught.value.code == "EMAIL_TAKEN"


def test_login_stores_only_a_hash_of_a_long_random_token(session, cache):
    email = random_email()
    user = register(session, email=email)
    result = auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="1.1.1.1")
    assert len(result.token) >= 43  # 32 random bytes, url-safe base64
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    assert [r.token_hash for r in rows] == [auth.token_hash(result.token)]
    assert result.token not in json.dumps([r.model_dump(mode="json") for r in rows])
    lifetime = result.expires_at - utcnow()
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)


def test_unknown_email_fails_exactly_like_a_wrong_password(session, cache):
    email = random_email()
    register(session, email=email)
    errors = []
    for attempt in (email, random_email()):
        with pytest.raises(DomainError) as caught:
            auth.login(session, cache, LocalBus(), email=attempt, password="wrong password", client_address="2.2.2.2")
        errors.append((caught.value.code, caught.value.message, caught.value.details))
    assert errors[0] == errors[1] == ("INVALID_CREDENTIALS", "The email or password is incorrect.", None)


def test_authenticate_uses_the_cache_then_the_database(session, cache):
    email = random_email()
    register(session, email=email)
    token = auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="3.3.3.3").token
    assert auth.authenticate(session, cache, token).email == email
    cache.delete(f"session:{auth.token_hash(token)}")  # a cold cache (restart, eviction) falls back to the database
    assert auth.authenticate(session, cache, token).email == email
    assert cache.get(f"session:{auth.token_hash(token)}") is not None  # and is warmed again


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_authenticate_refuses_missing_or_unknown_tokens(session, cache, token):
    with pytest.raises(DomainError) as caught:
        auth.authenticate(session, cache, token)
    assert caught.value.code == "UNAUTHORIZED"


def test_session_expires_after_its_absolute_lifetime(session, cache):
    email = random_email()
    register(session, email=email)
    token = auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="4.4.4.4").token
    row = session.get(LoginSession, auth.token_hash(token))
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    cache.delete(f"session:{auth.token_hash(token)}")
    with pytest.raises(DomainError):
        auth.authenticate(session, cache, token)


def test_cached_session_past_its_expiry_is_refused(session, cache):
    email = random_email()
    user = register(session, email=email)
    token = "a-token-whose-cache-entry-outlived-the-session"
    auth._cache_session(cache, auth.token_hash(token), user, utcnow() + timedelta(seconds=5))
    entry = json.loads(cache.get(f"session:{auth.token_hash(token)}"))
    entry["expiresAt"] = (utcnow() - timedelta(seconds=1)).isoformat()
    cache.set(f"session:{auth.token_hash(token)}", json.dumps(entry), ttl=60)
    with pytest.raises(DomainError):
        auth.authenticate(session, cache, token)


async def test_logout_kills_the_token_and_announces_it(session, cache):
    bus = LocalBus()
    events = bus.subscribe(auth.EVENTS_CHANNEL)
    waiter = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0)  # let the subscription register before anything is published
    email = random_email()
    register(session, email=email)
    token = auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="5.5.5.5").token
    auth.logout(session, cache, bus, token)
    _channel, message = await asyncio.wait_for(waiter, 1)
    assert json.loads(message) == {"type": "session_revoked", "tokenHash": auth.token_hash(token)}
    with pytest.raises(DomainError):
        auth.authenticate(session, cache, token)
    await events.aclose()


async def test_logging_out_everywhere_announces_every_session_of_the_user_and_no_other(session, cache):
    bus = LocalBus()
    events = bus.subscribe(auth.EVENTS_CHANNEL)
    first = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0)
    email, bystander = random_email(), random_email()
    user = register(session, email=email)
    register(session, email=bystander)
    login = {"password": PASSWORD, "client_address": "8.8.8.8"}
    tokens = [auth.login(session, cache, LocalBus(), email=email, **login).token for _ in range(3)]
    other = auth.login(session, cache, LocalBus(), email=bystander, **login).token

    auth.logout_everywhere(session, cache, bus, user_id=user.id)
    messages = [(await asyncio.wait_for(first, 1))[1]]
    messages += [(await asyncio.wait_for(events.__anext__(), 1))[1] for _ in range(2)]
    assert sorted(json.loads(m)["tokenHash"] for m in messages) == sorted(auth.token_hash(t) for t in tokens)
    for token in tokens:
        with pytest.raises(DomainError):
            auth.authenticate(session, cache, token)
    assert auth.authenticate(session, cache, other).email == bystander
    await events.aclose()


def test_a_password_change_keeps_only_the_session_that_made_it(session, cache):
    email = random_email()
    user = register(session, email=email)
    login = {"email": email, "password": PASSWORD, "client_address": "9.9.9.9"}
    keep, lose = (auth.login(session, cache, LocalBus(), **login).token for _ in range(2))
    change = {"user_id": user.id, "token": keep, "new_password": "a whole new password"}
    with pytest.raises(DomainError) as wrong:
        auth.change_password(session, cache, LocalBus(), current_password="not the password", **change)
    assert wrong.value.code == "INVALID_CREDENTIALS"
    auth.change_password(session, cache, LocalBus(), current_password=PASSWORD, **change)
    assert auth.authenticate(session, cache, keep).id == user.id
    with pytest.raises(DomainError):
        auth.authenticate(session, cache, lose)
    stored = session.exec(select(User.password_hash).where(User.id == user.id)).one()
    assert auth.verify_password("a whole new password", stored) and not auth.verify_password(PASSWORD, stored)


def failed_login(session, cache, email, address):
    with pytest.raises(DomainError) as caught:
        auth.login(session, cache, LocalBus(), email=email, password="wrong password", client_address=address)
    return caught.value


def test_failed_logins_are_limited_per_email_and_address_but_not_forever(session, cache, clock):
    email = random_email()
    register(session, email=email)
    for _ in range(5):
        assert failed_login(session, cache, email, "6.6.6.6").code == "INVALID_CREDENTIALS"
    limited = failed_login(session, cache, email, "6.6.6.6")
    assert limited.code == "RATE_LIMITED" and 0 < limited.retry_after <= auth.LOGIN_WINDOW
    # Even the right password is refused while limited: otherwise the limit would leak whether a guess was right.
    with pytest.raises(DomainError):
        auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="6.6.6.6")
    # The owner, elsewhere, still gets in: the attacker did not lock the account.
    assert auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="7.7.7.7").token
    # And the limit lifts by itself when the window ends.
    clock.now += auth.LOGIN_WINDOW + 1
    assert auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="6.6.6.6").token


def test_failed_logins_are_limited_per_address_across_emails(session, cache):
    limit = dict(auth.LOGIN_LIMITS)["addr"]
    for _ in range(limit):
        failed_login(session, cache, random_email(), "8.8.8.8")
    assert failed_login(session, cache, random_email(), "8.8.8.8").code == "RATE_LIMITED"
    assert failed_login(session, cache, random_email(), "9.9.9.9").code == "INVALID_CREDENTIALS"


def test_a_successful_login_clears_the_failures_of_that_account(session, cache):
    email = random_email()
    register(session, email=email)
    for _ in range(4):
        failed_login(session, cache, email, "10.0.0.1")
    auth.login(session, cache, LocalBus(), email=email, password=PASSWORD, client_address="10.0.0.1")
    for _ in range(4):
        assert failed_login(session, cache, email, "10.0.0.1").code == "INVALID_CREDENTIALS"
