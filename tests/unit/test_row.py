"""models.row: a table row built straight into its dict still behaves as SQLModel's constructor made it."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, SQLModel, select

from models.candle import CandleRow
from models.order import Order
from models.row import _defaults
from services.infra import db
from settings import load_settings


def test_defaults_fill_what_is_not_given_and_factories_run_per_row():
    account = uuid.uuid4()
    first = Order(account_id=account, symbol="AAPL", side="buy", order_type="market", quantity=Decimal("1"))
    second = Order(account_id=account, symbol="AAPL", side="buy", order_type="market", quantity=Decimal("1"))
    assert (first.status, first.time_in_force, first.filled_quantity, first.limit_price) == (
        "pending",
        "day",
        Decimal("0"),
        None,
    )
    assert first.id != second.id and isinstance(first.id, uuid.UUID)
    assert first.model_fields_set == {"account_id", "symbol", "side", "order_type", "quantity"}


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field colour"):
        Order(account_id=uuid.uuid4(), symbol="AAPL", side="buy", order_type="market", colour="red")


def test_a_built_row_is_inserted_and_tracked_by_an_orm_session(tmp_path):
    engine = db.make_engine(load_settings(database_url=f"sqlite:///{tmp_path / 'rows.db'}"))
    db.migrate(engine)
    at = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    price = Decimal("187.25")
    with Session(engine) as session:
        candle = CandleRow(symbol="AAPL", resolution="MINUTE", t=at, open=price, high=price, low=price, close=price)
        candle.volume = 10
        session.add(candle)
        session.commit()
        candle.close = Decimal("188.00")  # a change after the insert goes through the instrumentation as usual
        session.commit()
    with Session(engine) as session:
        assert session.exec(select(CandleRow.close, CandleRow.volume)).all() == [(Decimal("188.00"), 10)]
    engine.dispose()


def test_a_mutable_default_is_refused():
    class Tagged(SQLModel):
        tags: list[str] = []

    with pytest.raises(TypeError, match="a mutable default needs a default_factory"):
        _defaults(Tagged)
