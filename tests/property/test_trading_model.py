"""Random trading sequences against the order service on a real database, checked step by step against a
small model of the contract, plus a fuzz of the order parser.

The model is written from the contract (fill prices, reservations, stops, expiry, no order under $1 but the sale
of a whole position) and the documented rounding rule (a buy costs its notional rounded up to the cent, a sale
raises it rounded down, the cost basis moves by what was paid; a sale removes basis pro rata, rounded half-up, or
all of it when it closes the position), not from the service code.
"""

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, ROUND_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import select

from models.account import Account, LedgerEntry, Position
from models.market import Quote
from models.order import Order, OrderCreate
from models.types import tick_size
from services.identity import auth
from services.infra import db
from services.infra.bus import LocalBus
from services.infra.db import session_scope
from services.infra.errors import DomainError
from services.infra.pg_async import AsyncPostgres
from services.market.clock import AlwaysOpen
from services.trading import accounts, orders
from services.trading.reconcile import reconcile, reconcile_account
from services.trading.rules import Market
from services.trading.store import Store
from settings import load_settings
from tests.support.databases import fresh_postgres
from tests.support.factories import PASSWORD, quote, random_email

CENT = Decimal("0.01")
NEW_YORK = ZoneInfo("America/New_York")
# Where each symbol trades in these tests: one around $100, one straddling $1, where the tick changes.
PRICE_RANGES = {"AAPL": (Decimal("90"), Decimal("110")), "PLTR": (Decimal("0.95"), Decimal("1.05"))}
# A coarse grid inside each range, so that prices of orders and quotes often meet exactly (the boundaries).
COARSE_STEP = {"AAPL": Decimal("1.00"), "PLTR": Decimal("0.01")}
START = datetime(2030, 1, 2, 12, 0, tzinfo=NEW_YORK)  # a fixed clock: expiry never depends on when tests run


@pytest.fixture(scope="module", autouse=True)
def cheap_passwords() -> Iterator[None]:
    """Registering is part of every example; a real argon2 hash (~0.1 s) would be most of the run time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "hash_password", lambda password: "not-a-real-hash")
        yield


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request, tmp_path_factory) -> Iterator:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('trading') / 'trading.db'}"
        yield from _migrated(url)
    else:
        # A database of its own: the session's shared one has a live execution engine that would expire
        # and fill these orders behind the model's back.
        with fresh_postgres("trading") as url:
            yield from _migrated(url)


def _migrated(url: str) -> Iterator:
    engine = db.make_engine(load_settings(database_url=url))
    db.migrate(engine)
    yield engine
    engine.dispose()


# Strategies


def on_grid(price: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Cents from $1 up, hundredths of a cent below."""
    return price.quantize(tick_size(price), rounding=rounding)


def prices(symbol: str) -> st.SearchStrategy[Decimal]:
    (low, high), step = PRICE_RANGES[symbol], COARSE_STEP[symbol]
    coarse = st.integers(int(low / step), int(high / step)).map(lambda n: n * step)
    return st.one_of(coarse, st.decimals(low, high, places=4).map(on_grid))


@st.composite
def quotes(draw, symbol: str) -> Quote:
    """A top of book with bid < ask and the last trade between them."""
    bid = draw(prices(symbol))
    spread = draw(
        st.one_of(
            st.integers(1, 4).map(lambda n: n * COARSE_STEP[symbol]),
            st.integers(1, 100).map(lambda n: n * tick_size(bid)),
        )
    )
    ask = on_grid(bid + spread, ROUND_UP)
    last = draw(st.sampled_from([bid, ask, on_grid((bid + ask) / 2)]))
    return quote(symbol, str(last), bid=str(bid), ask=str(ask))


# Mostly small orders, so that buys often fit the cash and positions build up to sell from; halves and
# tenths make notionals that end in exactly half a cent, where the rounding rule shows.
quantities = st.one_of(
    st.decimals(Decimal("0.000001"), Decimal("0.02"), places=6),  # tiny: where rounding could create money
    st.decimals(Decimal("0.000001"), Decimal("2"), places=6),
    st.decimals(Decimal("0.000001"), Decimal("50"), places=6),
    st.integers(1, 100).map(lambda n: Decimal(n) / 2),
    st.integers(1, 100).map(lambda n: Decimal(n) / 10),
)


# Trails: in dollars (some wider than a price near $1, which a sell cannot take) or in percent.
trail_prices = st.one_of(st.decimals(Decimal("0.01"), Decimal("5"), places=2), st.decimals("0.0001", "0.5", places=4))
trail_percents = st.decimals(Decimal("0.1"), Decimal("50"), places=2)


@st.composite
def order_requests(draw) -> OrderCreate:
    symbol = draw(st.sampled_from(sorted(PRICE_RANGES)))
    order_type = draw(st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop"]))
    by_price = order_type == "trailing_stop" and draw(st.booleans())
    return OrderCreate(
        symbol=symbol,
        side=draw(st.sampled_from(["buy", "sell"])),
        order_type=order_type,
        quantity=draw(quantities),
        limit_price=draw(prices(symbol)) if order_type in ("limit", "stop_limit") else None,
        stop_price=draw(prices(symbol)) if order_type in ("stop", "stop_limit") else None,
        trail_price=draw(trail_prices) if by_price else None,
        trail_percent=draw(trail_percents) if order_type == "trailing_stop" and not by_price else None,
        time_in_force=draw(st.sampled_from(["day", "gtc"])),
    )


# The model


def cost(quantity: Decimal, price: Decimal) -> Decimal:
    return (quantity * price).quantize(CENT, rounding=ROUND_CEILING)


def proceeds(quantity: Decimal, price: Decimal) -> Decimal:
    return (quantity * price).quantize(CENT, rounding=ROUND_FLOOR)


def end_of_trading_day(now: datetime) -> datetime:
    """Around the clock, a day order lives until the next midnight in New York."""
    tomorrow = now.astimezone(NEW_YORK).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=NEW_YORK)


@dataclass
class ModelOrder:
    request: OrderCreate
    expires_at: datetime | None
    id: uuid.UUID | None = None
    status: str = "pending"
    triggered: bool = False
    reserved_cash: Decimal = Decimal(0)
    fill_price: Decimal | None = None
    stop: Decimal | None = None  # where the stop stands: a trailing one's moves
    mark: Decimal | None = None  # a trailing stop's best last price (the high for a sell, the low for a buy)

    def __post_init__(self) -> None:
        self.stop = self.request.stop_price

    @property
    def is_buy(self) -> bool:
        return self.request.side == "buy"

    @property
    def trails(self) -> bool:
        return self.request.order_type == "trailing_stop"

    def trail_from(self, last: Decimal) -> None:
        """The contract's trailing stop: a sell's trails the high by the trail, rounded down to the tick; a buy's
        the low, rounded up; it moves only when the last price betters the mark."""
        if self.mark is not None and (last <= self.mark if not self.is_buy else last >= self.mark):
            return
        self.mark = last
        trail = self.request.trail_price
        if trail is None:
            trail = last * self.request.trail_percent / 100
        stop = last + trail if self.is_buy else last - trail
        self.stop = on_grid(stop, ROUND_UP if self.is_buy else ROUND_DOWN)

    def price_against(self, quote: Quote) -> Decimal | None:
        """Where the contract says this order executes against `quote`, or None while it rests. A stop whose
        trigger the last price reaches becomes a market (stop) or limit (stop_limit) order for good."""
        if self.trails and not self.triggered:
            self.trail_from(quote.last)
        stop, limit = self.stop, self.request.limit_price
        if stop is not None and not self.triggered:
            if not (quote.last >= stop if self.is_buy else quote.last <= stop):
                return None
            self.triggered = True
        price = quote.ask if self.is_buy else quote.bid
        if limit is None or (price <= limit if self.is_buy else price >= limit):
            return price
        return None


@dataclass
class Book:
    """One account as the contract says it should be."""

    cash: Decimal
    shares: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    basis: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    realized: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    orders: dict = field(default_factory=dict)  # id -> ModelOrder, in placement order

    def pending(self, symbol: str | None = None) -> list[ModelOrder]:
        return [o for o in self.orders.values() if o.status == "pending" and symbol in (None, o.request.symbol)]

    def reserved_cash(self) -> Decimal:
        return sum((o.reserved_cash for o in self.pending()), Decimal(0))

    def reserved_shares(self, symbol: str) -> Decimal:
        return sum((o.request.quantity for o in self.pending(symbol) if not o.is_buy), Decimal(0))

    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash()

    def available(self, symbol: str) -> Decimal:
        return self.shares[symbol] - self.reserved_shares(symbol)

    def place(self, request: OrderCreate, quote: Quote, now: datetime) -> ModelOrder | str:
        """The order as placed, or the code of the error the contract answers."""
        if request.side == "sell" and self.available(request.symbol) < request.quantity:
            return "INSUFFICIENT_SHARES"
        valued_at = request.limit_price or request.stop_price or (quote.ask if request.side == "buy" else quote.bid)
        whole_position = request.side == "sell" and request.quantity == self.shares[request.symbol]
        if request.quantity * valued_at < 1 and not whole_position:
            return "VALIDATION_ERROR"
        order = ModelOrder(request, end_of_trading_day(now) if request.time_in_force == "day" else None)
        if order.trails:
            order.trail_from(quote.last)
            if order.stop <= 0:
                return "VALIDATION_ERROR"
        price = order.price_against(quote)
        if price is not None:
            if order.is_buy and cost(request.quantity, price) > self.buying_power():
                return "INSUFFICIENT_FUNDS"
            self._fill(order, price)
        elif order.is_buy:
            # A resting buy holds back limit x quantity (a stop buy without limit: stop + 5 %), rounded up.
            price = request.limit_price or order.stop * Decimal("1.05")
            order.reserved_cash = (request.quantity * price).quantize(CENT, rounding=ROUND_CEILING)
            if order.reserved_cash > self.buying_power():
                return "INSUFFICIENT_FUNDS"
        return order

    def tick(self, order: ModelOrder, quote: Quote) -> None:
        """A new quote reaches a resting order: it fills, or (a stop buy past its collar) is rejected."""
        price = order.price_against(quote)
        if price is None:
            return
        order.reserved_cash = Decimal(0)
        if order.is_buy and cost(order.request.quantity, price) > self.buying_power():
            order.status = "rejected"
        else:
            self._fill(order, price)

    def end(self, order: ModelOrder, status: str) -> None:
        order.status, order.reserved_cash = status, Decimal(0)

    def _fill(self, order: ModelOrder, price: Decimal) -> None:
        symbol, quantity = order.request.symbol, order.request.quantity
        amount = (cost if order.is_buy else proceeds)(quantity, price)
        if order.is_buy:
            self.cash -= amount
            self.shares[symbol] += quantity
            self.basis[symbol] += amount
        else:
            closes = quantity == self.shares[symbol]
            share = self.basis[symbol] * quantity / self.shares[symbol]
            removed = self.basis[symbol] if closes else share.quantize(CENT, rounding=ROUND_HALF_UP)
            self.cash += amount
            self.shares[symbol] -= quantity
            self.basis[symbol] -= removed
            self.realized[symbol] += amount - removed
        order.status, order.fill_price, order.reserved_cash = "filled", price, Decimal(0)


# The driver


@pytest.fixture(scope="module")
def store(engine) -> Iterator[tuple[Store, asyncio.AbstractEventLoop]]:
    """The store production uses: on PostgreSQL from an event loop (this module's own), on SQLite through threads."""
    loop = asyncio.new_event_loop()
    pg = None
    if engine.dialect.name == "postgresql":
        pg = AsyncPostgres(engine.url.render_as_string(hide_password=False))
        loop.run_until_complete(pg.open())
    yield Store(engine, pg), loop
    if pg is not None:
        loop.run_until_complete(pg.close())
    loop.close()


@dataclass
class Ledger:
    """One of the trader's accounts: its id and what the model says it holds."""

    id: uuid.UUID
    book: "Book"
    starting_cash: Decimal


class Trader:
    """One new user trading in two accounts through the store, every step in its own transaction, beside a model of
    each account."""

    def __init__(self, engine, store, cash: Decimal, second_cash: Decimal, opening: tuple[Quote, ...]):
        self.engine = engine
        self.store, self.loop = store
        self.bus = LocalBus()
        self.clock = AlwaysOpen()
        self.now = START
        self.quotes = {q.symbol: q for q in opening}
        self.answers: list[tuple[Ledger, str, OrderCreate, str]] = []  # (account, key, request, body) of placements
        with session_scope(engine) as session:
            user = auth.register(
                session, email=random_email(), password=PASSWORD, display_name=None, starting_cash=cash
            )
            default = accounts.owned(session, user_id=user.id, account_id=None).id
            second = accounts.open_personal(
                session, user_id=user.id, name="Second", starting_cash=second_cash, now=self.now
            ).id
        self.user_id = user.id
        self.accounts = [Ledger(default, Book(cash), cash), Ledger(second, Book(second_cash), second_cash)]

    def _step(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def _place(self, account: Ledger, key: str, request: OrderCreate):
        market = Market(self.quotes[request.symbol], live=True, clock=self.clock)
        placing = orders.place(
            self.store,
            user_id=self.user_id,
            account_id=account.id,
            key=key,
            request=request,
            market=market,
            now=self.now,
        )
        return self.loop.run_until_complete(placing)

    def place(self, request: OrderCreate, tenths: int | None, which: int) -> None:
        """`tenths` sizes a sale from the shares available (10: all of them, which may close the position)."""
        self._step()
        account = self.accounts[which]
        available = account.book.available(request.symbol)
        if tenths and request.side == "sell" and available > 0:
            quantity = (available * tenths / 10).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
            request = request.model_copy(update={"quantity": quantity or available})
        expected = account.book.place(request, self.quotes[request.symbol], self.now)
        key = uuid.uuid4().hex
        try:
            placement, public = self._place(account, key, request)
        except DomainError as error:
            assert error.code == expected, f"{request!r}: got {error.code}, the model expected {expected}"
            return
        assert isinstance(expected, ModelOrder), f"{request!r} was placed; the model expected {expected}"
        assert (placement.status, placement.replayed) == (201, False)
        assert public.expires_at == expected.expires_at and public.account_id == account.id
        expected.id = public.id
        account.book.orders[public.id] = expected
        self.answers.append((account, key, request, placement.body))
        self._assert_matches(public, expected)

    def retry(self, pick: int, same_body: bool) -> None:
        """A retried key replays the first answer byte for byte; reused for another order, it is refused; in the
        user's other account the key is a new one."""
        self._step()
        if not self.answers:
            return
        account, key, request, body = self.answers[pick % len(self.answers)]
        if not same_body:
            request = request.model_copy(update={"quantity": request.quantity + 1})
        try:
            placement, public = self._place(account, key, request)
        except DomainError as error:
            assert not same_body and error.code == "IDEMPOTENCY_KEY_REUSED"
            return
        assert same_body and (placement.status, placement.body, placement.replayed, public) == (201, body, True, None)

    def _pending(self) -> list[tuple[Ledger, "ModelOrder"]]:
        return [(account, order) for account in self.accounts for order in account.book.pending()]

    def tick(self, quote: Quote) -> None:
        """The market moves; every resting order of the symbol gets a fill attempt, as the engine makes."""
        now = self._step()
        quote = self.quotes[quote.symbol] = quote.model_copy(update={"timestamp": int(now.timestamp() * 1000)})
        for account, expected in self._pending():
            if expected.request.symbol != quote.symbol:
                continue
            resting = Order(id=expected.id, account_id=account.id, symbol=quote.symbol)
            filling = orders.fill(self.store, self.bus, resting=resting, quote=quote, clock=self.clock, now=now)
            public = self.loop.run_until_complete(filling)
            account.book.tick(expected, quote)
            assert (public.status, public.avg_fill_price) == (expected.status, expected.fill_price), expected.request

    def cancel(self, pick: int, which: int) -> None:
        """Cancel one of this user's orders (whatever its status) from one of the accounts, or one that does not
        exist: an order of the other account is not found from this one."""
        account = self.accounts[which]
        known = [(owner, o) for owner in self.accounts for o in owner.book.orders.values()]
        owner, expected = known[pick % len(known)] if known and pick else (None, None)
        order_id = expected.id if expected else uuid.uuid4()
        canceling = orders.cancel(
            self.store, self.bus, user_id=self.user_id, account_id=account.id, order_id=order_id, now=self._step()
        )
        try:
            public = self.loop.run_until_complete(canceling)
        except DomainError as error:
            mine = expected is not None and owner is account
            wanted = "ORDER_NOT_CANCELABLE" if mine else "ORDER_NOT_FOUND"
            assert error.code == wanted and not (mine and expected.status == "pending")
            return
        assert owner is account and expected.status == "pending", "canceled an order it should not have"
        account.book.end(expected, "canceled")
        self._assert_matches(public, expected)

    def close_session(self) -> None:
        """Nothing expires early; then the day ends and every day order still pending expires, gtc ones stay."""
        everything = [(account, o) for account in self.accounts for o in account.book.orders.values()]
        for account, expected in everything:
            assert self._expire(account, expected) is None
        self.now = max((o.expires_at or self.now for _, o in everything), default=self.now)
        self._step()
        for account, expected in everything:
            public = self._expire(account, expected)
            if expected.status == "pending" and expected.expires_at is not None:
                account.book.end(expected, "expired")
                self._assert_matches(public, expected)
            else:
                assert public is None

    def _expire(self, account: Ledger, expected: ModelOrder):
        resting = Order(id=expected.id, account_id=account.id, symbol=expected.request.symbol)
        return self.loop.run_until_complete(orders.expire(self.store, self.bus, resting=resting, now=self.now))

    def _assert_matches(self, public, expected: ModelOrder) -> None:
        assert (public.status, public.avg_fill_price) == (expected.status, expected.fill_price), expected.request
        filled = expected.request.quantity if expected.status == "filled" else 0
        assert public.filled_quantity == filled

    def check(self) -> None:
        """The invariants of the books, then every balance of each account against its model."""
        for account in self.accounts:
            with session_scope(self.engine) as session:
                mine = account.id
                stored_account = session.get(Account, mine)
                positions = {p.symbol: p for p in session.exec(select(Position).where(Position.account_id == mine))}
                stored = {o.id: o for o in session.exec(select(Order).where(Order.account_id == mine))}
                ledger = session.exec(select(LedgerEntry).where(LedgerEntry.account_id == mine)).all()
                discrepancies = reconcile_account(session, mine)
            self._assert_invariants(account, stored_account, positions, sum((e.amount for e in ledger), Decimal(0)))
            self._assert_no_fill_creates_money(ledger, stored)
            assert discrepancies == []
            self._assert_model(account, stored_account, positions, stored)

    @staticmethod
    def _assert_no_fill_creates_money(ledger: list[LedgerEntry], stored: dict) -> None:
        """Every fill moves cash by at least quantity x price against the trader: a buy takes at least it, a sale
        gives at most it."""
        for entry in ledger:
            if entry.order_id is None:
                continue
            order = stored[entry.order_id]
            exact = order.filled_quantity * order.avg_fill_price
            assert (-entry.amount >= exact) if order.side == "buy" else (entry.amount <= exact), (entry, order)

    @staticmethod
    def _assert_invariants(account: Ledger, stored: Account, positions: dict, ledger: Decimal) -> None:
        assert stored.cash >= 0
        assert 0 <= stored.reserved_cash <= stored.cash
        for p in positions.values():
            assert p.quantity >= 0 and 0 <= p.reserved_quantity <= p.quantity
        held = sum((p.cost_basis - p.realized_pnl for p in positions.values()), Decimal(0))
        assert stored.cash + held == account.starting_cash
        assert ledger == stored.cash

    @staticmethod
    def _assert_model(account: Ledger, stored_account: Account, positions: dict, stored: dict) -> None:
        book = account.book
        assert (stored_account.cash, stored_account.reserved_cash) == (book.cash, book.reserved_cash())
        for symbol in PRICE_RANGES:
            p = positions.get(symbol) or Position(account_id=account.id, symbol=symbol)
            actual = (p.quantity, p.reserved_quantity, p.cost_basis, p.realized_pnl)
            assert actual == (
                book.shares[symbol],
                book.reserved_shares(symbol),
                book.basis[symbol],
                book.realized[symbol],
            )
        assert {i: (o.status, o.reserved_cash, o.stop_price, o.high_water_mark) for i, o in stored.items()} == {
            i: (o.status, o.reserved_cash, o.stop, o.mark) for i, o in book.orders.items()
        }


picks = st.integers(0, 1000)
STEPS = {
    "place": st.fixed_dictionaries(
        {"request": order_requests(), "tenths": st.sampled_from([3, 10, 1, None]), "which": st.integers(0, 1)}
    ),
    "tick": st.fixed_dictionaries({"quote": st.sampled_from(sorted(PRICE_RANGES)).flatmap(quotes)}),
    "cancel": st.fixed_dictionaries({"pick": picks, "which": st.integers(0, 1)}),
    "retry": st.fixed_dictionaries({"pick": picks, "same_body": st.booleans()}),
    "close_session": st.just({}),
}
# Mostly orders and market moves, so that resting orders meet quotes before a session end clears them.
WEIGHTS = {"place": 5, "tick": 5, "cancel": 1, "retry": 1, "close_session": 1}
steps = st.sampled_from([name for name, weight in WEIGHTS.items() for _ in range(weight)]).flatmap(
    lambda name: st.tuples(st.just(name), STEPS[name])
)


OPENING = (quote("AAPL", "95.00", bid="95.00", ask="95.01"), quote("PLTR", "1.00", bid="0.9990", ask="1.01"))


def order(side: str, order_type: str, quantity: str, **prices: str) -> OrderCreate:
    return OrderCreate(symbol="AAPL", side=side, order_type=order_type, quantity=Decimal(quantity), **prices)


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cash=st.decimals(0, 20000, places=2),
    second_cash=st.decimals(0, 2000, places=2),
    opening=st.tuples(*(quotes(symbol) for symbol in sorted(PRICE_RANGES))),
    script=st.lists(steps, min_size=10, max_size=40),
)
# Paths random scripts reach too rarely: every price boundary (stop and limit met exactly, a notional of exactly
# half a cent), a stop buy gapping past its 5 % collar, and a sale closing a position.
@example(
    second_cash=Decimal("500.00"),
    cash=Decimal("1000.00"),
    opening=OPENING,
    script=[
        ("place", {"request": order("buy", "market", "2.5"), "tenths": None, "which": 0}),  # 237.525 -> 237.53
        ("place", {"request": order("sell", "stop", "1", stop_price="94.00"), "tenths": None, "which": 0}),
        ("place", {"request": order("buy", "stop", "1", stop_price="96.00"), "tenths": None, "which": 0}),
        ("place", {"request": order("buy", "limit", "1", limit_price="94.50"), "tenths": None, "which": 0}),
        ("place", {"request": order("sell", "limit", "1", limit_price="95.50"), "tenths": None, "which": 0}),
        ("tick", {"quote": quote("AAPL", "94.00", bid="94.00", ask="94.50")}),  # the sell stop and the buy limit
        ("tick", {"quote": quote("AAPL", "96.00", bid="95.50", ask="96.00")}),  # the buy stop and the sell limit
    ],
)
@example(
    second_cash=Decimal("500.00"),
    cash=Decimal("101.00"),
    opening=OPENING,
    script=[
        ("place", {"request": order("buy", "stop", "1", stop_price="95.50"), "tenths": None, "which": 0}),
        ("tick", {"quote": quote("AAPL", "101.45", bid="101.40", ask="101.50")}),
    ],
)
@example(
    second_cash=Decimal("500.00"),
    cash=Decimal("1000.00"),
    opening=OPENING,
    script=[
        ("place", {"request": order("buy", "market", "1.333333"), "tenths": None, "which": 0}),
        ("place", {"request": order("buy", "market", "2"), "tenths": None, "which": 0}),
        ("place", {"request": order("sell", "limit", "1", limit_price="99.00"), "tenths": 1, "which": 0}),
        ("tick", {"quote": quote("AAPL", "99.01", bid="99.00", ask="99.02")}),
        ("place", {"request": order("sell", "market", "1"), "tenths": 10, "which": 0}),
    ],
)
# Trailing stops that follow the market and fire: a sell by dollars, a buy by percent (rounded up to the tick).
@example(
    second_cash=Decimal("500.00"),
    cash=Decimal("1000.00"),
    opening=OPENING,
    script=[
        ("place", {"request": order("buy", "market", "2"), "tenths": None, "which": 0}),
        ("place", {"request": order("sell", "trailing_stop", "2", trail_price="2"), "tenths": None, "which": 0}),
        ("tick", {"quote": quote("AAPL", "100.00", bid="99.99", ask="100.01")}),  # the stop from 93.00 to 98.00
        ("tick", {"quote": quote("AAPL", "97.50", bid="97.49", ask="97.51")}),  # fires at the bid
        ("place", {"request": order("buy", "trailing_stop", "1", trail_percent="1.5"), "tenths": None, "which": 0}),
        ("tick", {"quote": quote("AAPL", "91.37", bid="91.36", ask="91.38")}),  # the stop from 98.97 to 92.75
        ("tick", {"quote": quote("AAPL", "92.75", bid="92.74", ask="92.76")}),  # fires at the ask
    ],
)
# Tiny orders, where a cost rounded to the cent could be $0.00: refused under $1, and a tiny whole position sells.
@example(
    second_cash=Decimal("500.00"),
    cash=Decimal("10.00"),
    opening=OPENING,
    script=[
        ("place", {"request": order("buy", "market", "0.000001"), "tenths": None, "which": 0}),
        ("place", {"request": order("buy", "market", "0.010526"), "tenths": None, "which": 0}),  # $1.00007 costs $1.01
        (
            "place",
            {"request": order("sell", "market", "0.010526"), "tenths": None, "which": 0},
        ),  # all of it, under $1: $0.99
    ],
)
def test_random_trading_keeps_the_books_exact(engine, store, cash, second_cash, opening, script):
    trader = Trader(engine, store, cash, second_cash, opening)
    trader.check()
    for name, arguments in script:
        getattr(trader, name)(**arguments)
        trader.check()


def test_reconcile_names_each_balance_that_drifted(engine):
    """Reconcile is only worth running if it notices: tamper with each running total in turn."""
    with session_scope(engine) as session:
        user = auth.register(
            session, email=random_email(), password=PASSWORD, display_name=None, starting_cash=Decimal(100)
        )
        account = accounts.owned(session, user_id=user.id, account_id=None)
        session.add(
            Position(account_id=account.id, symbol="AAPL", quantity=Decimal(2), reserved_quantity=Decimal("0.5"))
        )
        account.reserved_cash = Decimal("1.25")
        account.cash = Decimal("99.99")
        session.commit()
        account_id = account.id
        found = {(d.check, d.symbol): (d.expected, d.actual) for d in reconcile_account(session, account_id)}
        everyone = reconcile(session)
    assert found == {
        ("cash_vs_ledger", None): (Decimal("100.00"), Decimal("99.99")),
        ("reserved_cash", None): (Decimal("0.00"), Decimal("1.25")),
        ("money_conserved", None): (Decimal("100.00"), Decimal("99.99")),
        ("reserved_quantity", "AAPL"): (Decimal("0.000000"), Decimal("0.500000")),
    }
    assert {(d.check, d.symbol) for d in everyone if d.account_id == account_id} == set(found)


# The order parser

FIELDS = ["symbol", "side", "orderType", "quantity", "limitPrice", "stopPrice", "timeInForce"]
CHOICES = ["AAPL", " msft ", "buy", "sell", "market", "limit", "stop", "stop_limit", "day", "gtc"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(CHOICES),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),  # numbers as text: "0.0000001", "1E+3"
)
python_values = st.one_of(json_scalars, st.decimals(), st.lists(json_scalars, max_size=2), st.binary(max_size=4))


def order_dicts(values: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """Mostly well-formed bodies with odd values, sometimes with unknown keys."""
    known = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, values))
    return st.builds(
        lambda body, extra: {**body, **extra}, known, st.dictionaries(st.text(max_size=5), values, max_size=1)
    )


def assert_meets_the_contract(order: OrderCreate) -> None:
    assert order.side in ("buy", "sell") and order.time_in_force in ("day", "gtc")
    assert order.symbol == order.symbol.strip().upper() and order.symbol.isprintable()
    assert 1 <= len(order.symbol) <= 10
    assert order.quantity.is_finite() and order.quantity > 0
    assert -order.quantity.normalize().as_tuple().exponent <= 6
    for price, needed in (
        (order.limit_price, order.order_type in ("limit", "stop_limit")),
        (order.stop_price, order.order_type in ("stop", "stop_limit")),
    ):
        assert (price is not None) == needed
        if price is not None:
            assert price.is_finite() and price > 0
            assert -price.normalize().as_tuple().exponent <= (2 if price >= 1 else 4)
    again = OrderCreate.model_validate_json(order.model_dump_json(by_alias=True))
    assert again.fingerprint() == order.fingerprint()


PARSER_SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True, database=None)


@PARSER_SETTINGS
@given(st.one_of(order_dicts(python_values), python_values))
def test_the_order_parser_refuses_with_validation_errors_only(raw):
    try:
        order = OrderCreate.model_validate(raw)
    except ValidationError:
        return
    assert_meets_the_contract(order)


@PARSER_SETTINGS
@given(st.one_of(order_dicts(json_scalars).map(json.dumps), st.text(max_size=40)))
def test_the_order_parser_refuses_bad_json_with_validation_errors_only(text):
    try:
        order = OrderCreate.model_validate_json(text)
    except ValidationError:
        return
    assert_meets_the_contract(order)


def test_a_symbol_that_grows_when_upper_cased_is_refused():
    with pytest.raises(ValidationError):
        OrderCreate.model_validate({"symbol": "ß" * 10, "side": "buy", "orderType": "market", "quantity": "1"})
