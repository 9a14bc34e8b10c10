"""MARKET_HOURS=nyse: outside the session market orders queue for the open and day orders end at the close."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from models.account import Position
from models.market import Quote
from models.order import OrderCreate
from services.identity import auth
from services.infra import db
from services.infra.bus import LocalBus
from services.market.clock import NyseSessions
from services.trading import accounts, orders
from services.trading.reconcile import reconcile_account
from services.trading.rules import Market
from services.trading.store import Store
from settings import load_settings
from tests.support.factories import PASSWORD, random_email
from tests.support.factories import quote as make_quote

CLOCK = NyseSessions()
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
MONDAY_CLOSE = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = db.make_engine(load_settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('hours') / 'h.db'}"))
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine) -> Store:
    return Store(engine, None)


@pytest.fixture
def user_id(engine):
    with db.session_scope(engine) as session:
        return auth.register(
            session, email=random_email(), password=PASSWORD, display_name=None, starting_cash=Decimal("10000")
        ).id


def quote(ask: str, at: datetime) -> Quote:
    price = Decimal(ask)
    return make_quote(
        "AAPL",
        str(price - Decimal("0.01")),
        bid=str(price - Decimal("0.02")),
        ask=ask,
        timestamp=int(at.timestamp() * 1000),
    )


async def place(store, user_id, now, **fields):
    request = OrderCreate.model_validate({"symbol": "AAPL", "side": "buy", "quantity": "2", **fields})
    market = Market(quote("100.00", now), live=False, clock=CLOCK)
    _, order = await orders.place(store, user_id=user_id, key=random_email(), request=request, market=market, now=now)
    return order


async def fill(store, order, ask: str, now: datetime):
    return await orders.fill(store, LocalBus(), resting=order, quote=quote(ask, now), clock=CLOCK, now=now)


async def test_a_market_order_placed_while_closed_waits_for_the_open(engine, store, user_id):
    order = await place(store, user_id, SATURDAY, orderType="market")
    assert order.status == "pending" and order.expires_at == MONDAY_CLOSE
    with db.session_scope(engine) as session:
        assert accounts.owned(session, user_id=user_id, account_id=None).reserved_cash == Decimal("210.00")  # +5 %
    assert (await fill(store, order, "101.00", SATURDAY)).status == "pending"  # still closed
    filled = await fill(store, order, "101.00", MONDAY_OPEN)
    assert (filled.status, filled.avg_fill_price) == ("filled", Decimal("101.00"))


async def test_day_orders_expire_at_the_close_and_gtc_ones_do_not(store, user_id):
    day = await place(store, user_id, MONDAY_OPEN, orderType="limit", limitPrice="50.00")
    gtc = await place(store, user_id, MONDAY_OPEN, orderType="limit", limitPrice="50.00", timeInForce="gtc")
    assert day.expires_at == MONDAY_CLOSE and gtc.expires_at is None
    bus = LocalBus()
    assert await orders.expire(store, bus, resting=day, now=MONDAY_OPEN) is None  # not yet
    assert (await orders.expire(store, bus, resting=day, now=MONDAY_CLOSE)).status == "expired"
    assert await orders.expire(store, bus, resting=gtc, now=MONDAY_CLOSE) is None


@pytest.mark.parametrize("fields", [{"orderType": "market"}, {"orderType": "limit", "limitPrice": "150.00"}])
@pytest.mark.parametrize("time_in_force", ["ioc", "fok"])
async def test_ioc_and_fok_orders_are_canceled_at_once_outside_trading_hours(
    engine, store, user_id, fields, time_in_force
):
    order = await place(store, user_id, SATURDAY, timeInForce=time_in_force, **fields)
    assert (order.status, order.expires_at, order.filled_quantity) == ("canceled", None, 0)
    with db.session_scope(engine) as session:
        assert accounts.owned(session, user_id=user_id, account_id=None).reserved_cash == 0


async def test_a_notional_buy_queued_for_the_open_reserves_its_amount_and_spends_no_more(engine, store, user_id):
    order = await place(store, user_id, SATURDAY, orderType="market", quantity=None, notional="250.00")
    assert (order.status, order.quantity, order.notional) == ("pending", None, Decimal("250.00"))
    with db.session_scope(engine) as session:
        assert accounts.owned(session, user_id=user_id, account_id=None).reserved_cash == Decimal("250.00")
    filled = await fill(store, order, "101.37", MONDAY_OPEN)
    assert (filled.status, filled.quantity, filled.filled_quantity) == ("filled", Decimal("2.466212"), filled.quantity)
    with db.session_scope(engine) as session:
        account = accounts.owned(session, user_id=user_id, account_id=None)
    assert account.reserved_cash == 0 and account.cash == Decimal("10000") - Decimal("250.00")  # 249.9999... up


async def test_a_notional_sell_queued_for_the_open_reserves_5_percent_more_shares_at_most_those_held(
    engine, store, user_id
):
    bought = await fill(
        store, await place(store, user_id, SATURDAY, orderType="market", quantity="10"), "100.00", MONDAY_OPEN
    )
    assert bought.status == "filled"  # 10 shares; the bid is 99.98
    big = await place(store, user_id, SATURDAY, orderType="market", side="sell", quantity=None, notional="990.00")
    assert big.status == "pending"  # 9.901980 shares at the bid, 10.397079 with 5 %: capped at the 10 held
    with db.session_scope(engine) as session:
        assert session.get(Position, (big.account_id, "AAPL")).reserved_quantity == Decimal("10")
    canceled = await orders.cancel(
        store, LocalBus(), user_id=user_id, account_id=big.account_id, order_id=big.id, now=SATURDAY
    )
    assert canceled.status == "canceled"
    small = await place(store, user_id, SATURDAY, orderType="market", side="sell", quantity=None, notional="100.00")
    with db.session_scope(engine) as session:  # 100 x 1.05 / 99.98, rounded up
        assert session.get(Position, (small.account_id, "AAPL")).reserved_quantity == Decimal("1.050211")
    filled = await fill(store, small, "110.02", MONDAY_OPEN)  # the bid rose to 110.00: fewer shares raise $100
    assert (filled.status, filled.quantity, filled.avg_fill_price) == ("filled", Decimal("0.909090"), Decimal("110"))
    with db.session_scope(engine) as session:
        position = session.get(Position, (small.account_id, "AAPL"))
        assert (position.quantity, position.reserved_quantity) == (Decimal("9.090910"), 0)
        assert reconcile_account(session, small.account_id) == []
