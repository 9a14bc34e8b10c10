"""The upgrade from one account per user: a database filled by the previous schema (revision 0003) keeps every cent
and every order, each user's account becoming their default personal account, on PostgreSQL and SQLite."""

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from models.order import OrderCreate
from services.infra import db
from services.infra.errors import DomainError
from services.market.clock import AlwaysOpen
from services.trading import accounts, orders, portfolio, reconcile
from services.trading.rules import Market
from services.trading.store import Store
from settings import load_settings
from tests.support.databases import fresh_postgres
from tests.support.factories import quote

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "sqlite"])
def old_engine(request, tmp_path):
    """A new database at the previous schema (the session's shared one is at the newest already)."""
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres("upgrade"))
        else:
            url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = db.make_engine(load_settings(database_url=url))
        db.migrate(engine, "0003")
        yield engine
        engine.dispose()


def _scaled(engine, amount: str, places: int):
    """How the old schema stored an amount: NUMERIC on PostgreSQL, integer units on SQLite."""
    value = Decimal(amount)
    return int(value.scaleb(places)) if engine.dialect.name == "sqlite" else value


def _uuid(engine, value: uuid.UUID):
    return value.hex if engine.dialect.name == "sqlite" else value


def fill_the_old_schema(engine) -> tuple[uuid.UUID, uuid.UUID]:
    """One user as the previous version left them: a deposit of $1,000, a buy of 2 AAPL at $100.25 (filled), a
    resting sell of 1 AAPL, an idempotency record and an equity snapshot. Returns (user id, filled order id)."""
    user, filled, resting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    u, m, q, p = (
        (lambda x: _uuid(engine, x)),
        (lambda a: _scaled(engine, a, 2)),
        (lambda a: _scaled(engine, a, 6)),
        (lambda a: _scaled(engine, a, 4)),
    )
    t = T0.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else T0  # as SQLAlchemy stores it
    rows = [
        (
            "INSERT INTO users (id, email, display_name, password_hash, created_at) VALUES (:id, :e, 'Friar', 'x', :t)",
            {"id": u(user), "e": f"{user.hex}@example.com", "t": t},
        ),
        (
            "INSERT INTO accounts (user_id, cash, reserved_cash, updated_at) VALUES (:u, :cash, 0, :t)",
            {"u": u(user), "cash": m("799.50"), "t": t},
        ),
        (
            "INSERT INTO orders (id, user_id, symbol, side, order_type, quantity, time_in_force, status,"
            " filled_quantity, avg_fill_price, reserved_cash, created_at, updated_at, filled_at)"
            " VALUES (:id, :u, 'AAPL', 'buy', 'market', :qty, 'day', 'filled', :qty, :price, 0, :t, :t, :t)",
            {"id": u(filled), "u": u(user), "qty": q("2"), "price": p("100.25"), "t": t},
        ),
        (
            "INSERT INTO orders (id, user_id, symbol, side, order_type, quantity, limit_price, time_in_force, status,"
            " filled_quantity, reserved_cash, created_at, updated_at)"
            " VALUES (:id, :u, 'AAPL', 'sell', 'limit', :qty, :limit, 'gtc', 'pending', 0, 0, :t, :t)",
            {"id": u(resting), "u": u(user), "qty": q("1"), "limit": p("150.00"), "t": t},
        ),
        (
            "INSERT INTO positions (user_id, symbol, quantity, reserved_quantity, cost_basis, realized_pnl, updated_at)"
            " VALUES (:u, 'AAPL', :qty, :reserved, :basis, 0, :t)",
            {"u": u(user), "qty": q("2"), "reserved": q("1"), "basis": m("200.50"), "t": t},
        ),
        (
            "INSERT INTO cash_ledger (user_id, amount, kind, order_id, created_at)"
            " VALUES (:u, :a, 'deposit', NULL, :t)",
            {"u": u(user), "a": m("1000.00"), "t": t},
        ),
        (
            "INSERT INTO cash_ledger (user_id, amount, kind, order_id, created_at) VALUES (:u, :a, 'buy', :o, :t)",
            {"u": u(user), "a": m("-200.50"), "o": u(filled), "t": t},
        ),
        (
            "INSERT INTO idempotency_records (user_id, key, request_hash, response_status, response_body, order_id,"
            " created_at) VALUES (:u, 'old-key', 'h', 201, '{}', :o, :t)",
            {"u": u(user), "o": u(filled), "t": t},
        ),
        (
            "INSERT INTO equity_snapshots (user_id, t, equity) VALUES (:u, :t, :e)",
            {"u": u(user), "t": t, "e": m("1000.00")},
        ),
    ]
    with engine.begin() as connection:
        for statement, values in rows:
            connection.execute(text(statement), values)
    return user, filled


async def test_the_upgrade_keeps_every_cent_and_order(old_engine):
    user_id, filled_id = fill_the_old_schema(old_engine)
    db.migrate(old_engine)
    with db.session_scope(old_engine) as session:
        (account,) = accounts.list_accounts(session, user_id)
        assert (account.id, account.is_default, account.kind, account.name) == (user_id, True, "personal", "Individual")
        assert (account.cash, account.reserved_cash, account.starting_cash) == (
            Decimal("799.50"),
            Decimal("0.00"),
            Decimal("1000.00"),
        )
        assert reconcile.reconcile(session) == []
        listed = orders.list_orders(session, account_id=account.id, status=None, limit=50)
        assert {(o.id == filled_id, o.status) for o in listed} == {(True, "filled"), (False, "pending")}
        book = portfolio.load(session, account.id)
        assert [(p.symbol, p.quantity, p.reserved_quantity) for p in book.positions] == [
            ("AAPL", Decimal("2"), Decimal("1"))
        ]
        points = portfolio.history(session, account.id, "ALL", now=T0, current=Decimal("1000.00"))
        assert [p.equity for p in points] == [Decimal("1000.00")] * 2  # the deposit (its snapshot with it), now
    # The old idempotency key still belongs to the account it became part of: bound to its first order.
    store = Store(old_engine, None)
    request = OrderCreate(symbol="AAPL", side="buy", order_type="market", quantity=Decimal(1))
    market = Market(quote("AAPL", "100.00", ask="100.01"), live=True, clock=AlwaysOpen())
    with pytest.raises(DomainError) as reused:
        await orders.place(store, user_id=user_id, key="old-key", request=request, market=market, now=T0)
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    placement, _ = await orders.place(store, user_id=user_id, key="new-key", request=request, market=market, now=T0)
    assert placement.status == 201 and not placement.replayed
    with db.session_scope(old_engine) as session:
        assert reconcile.reconcile(session) == []
        # New rows get ids after the copied ones (the sequences went on from the highest).
        count = session.execute(text("SELECT COUNT(*), COUNT(DISTINCT id) FROM cash_ledger")).one()
        assert count[0] == count[1] == 3
