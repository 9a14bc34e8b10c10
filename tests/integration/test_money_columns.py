"""Money is exact to the cent (and shares to 6 places) on PostgreSQL and SQLite alike."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError, StatementError

from models.account import Account, Position
from models.user import User
from services.infra import db
from services.infra.db import session_scope
from settings import load_settings


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def engine(request, postgres_url, tmp_path_factory):
    url = postgres_url if request.param == "postgres" else f"sqlite:///{tmp_path_factory.mktemp('money') / 'm.db'}"
    engine = db.make_engine(load_settings(database_url=url))
    db.migrate(engine)
    yield engine
    engine.dispose()


def new_user(session) -> uuid.UUID:
    user = User(email=f"{uuid.uuid4().hex}@example.com", display_name="t", password_hash="x")
    session.add(user)
    session.flush()
    return user.id


def account(user_id: uuid.UUID, cash: Decimal, reserved: Decimal = Decimal(0)) -> Account:
    return Account(user_id=user_id, name="t", starting_cash=0, cash=cash, reserved_cash=reserved)


cents = st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2)
shares = st.decimals(min_value=0, max_value=Decimal("999999999.999999"), places=6)


@settings(max_examples=40, deadline=None)
@given(cash=cents, reserved_fraction=st.integers(0, 100), quantity=shares)
def test_amounts_round_trip_exactly(engine, cash, reserved_fraction, quantity):
    reserved = (cash * reserved_fraction / 100).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    with session_scope(engine) as session:
        opened = account(new_user(session), cash, reserved)
        session.add(opened)
        session.flush()
        session.add(Position(account_id=opened.id, symbol="AAPL", quantity=quantity, reserved_quantity=quantity))
        session.commit()
        account_id = opened.id
    with session_scope(engine) as session:
        stored = session.get(Account, account_id)
        position = session.get(Position, (account_id, "AAPL"))
        assert (stored.cash, stored.reserved_cash, position.quantity) == (cash, reserved, quantity)


@pytest.mark.parametrize(
    ("cash", "reserved"),
    [(Decimal("-0.01"), Decimal("0")), (Decimal("10"), Decimal("-0.01")), (Decimal("10"), Decimal("10.01"))],
)
def test_constraints_guard_the_money(engine, cash, reserved):
    with session_scope(engine) as session:
        session.add(account(new_user(session), cash, reserved))
        with pytest.raises(IntegrityError):
            session.commit()


def test_more_places_than_the_column_holds_is_refused_not_rounded(engine):
    with session_scope(engine) as session:
        session.add(account(new_user(session), Decimal("1.005")))
        with pytest.raises(StatementError):
            session.commit()
