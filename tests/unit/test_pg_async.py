"""The event loop's PostgreSQL path runs the blocking path's Core statements with the same column checks."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from models.account import Account
from models.order import Order
from services.infra.pg_async import _compile
from services.trading.store import statements_of

UPDATE_ACCOUNT = statements_of(Account).update

OWNER = uuid.uuid4()


def test_core_statements_compile_to_psycopg_placeholders():
    compiled = _compile(UPDATE_ACCOUNT, {"pk_id": OWNER, "cash": Decimal("10.00")})
    assert "SET cash=%(cash)s" in compiled.sql and "id = %(pk_id)s" in compiled.sql
    assert compiled is _compile(UPDATE_ACCOUNT, {"pk_id": uuid.uuid4(), "cash": Decimal("1.00")})


def test_money_with_more_places_than_its_column_is_refused_not_rounded():
    values = {"pk_id": OWNER, "cash": Decimal("10.001"), "updated_at": datetime.now(UTC)}
    compiled = _compile(UPDATE_ACCOUNT, values)
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        compiled.params(values)
    sent = compiled.params({**values, "cash": Decimal("10.01")})["cash"]
    assert isinstance(sent, Decimal) and sent == Decimal("10.01")  # money never travels as a float


def test_naive_timestamps_are_refused():
    values = {"pk_id": OWNER, "updated_at": datetime(2026, 1, 2, 3, 4)}
    with pytest.raises(ValueError, match="naive"):
        _compile(UPDATE_ACCOUNT, values).params(values)


def test_values_written_into_a_statement_are_bound_too():
    """`status == 'pending'` in a WHERE is a bound value the caller does not pass."""
    from sqlalchemy import select

    orders = Order.__table__
    statement = select(orders.c.id).where(orders.c.status == "pending")
    assert _compile(statement, {}).params({}) == {"status_1": "pending"}
