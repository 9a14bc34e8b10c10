"""The process's connections (database, cache, bus), built once at start-up and shared by pages and API."""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field

import redis
from anyio import to_thread
from sqlalchemy import Engine

from services.infra import db, redis_clients
from services.infra.bus import Bus, LocalBus, RedisBus
from services.infra.cache import Cache, MemoryCache, RedisCache
from services.infra.event_hub import EventHub
from services.infra.leader import Leadership, RedisLeadership, SoleLeadership
from services.infra.pg_async import AsyncPostgres
from services.leagues.placement import LeagueRules
from services.leagues.standings import Leaderboards
from services.market.clock import MarketClock, clock_for
from services.market.quote_hub import QuoteHub
from services.market.quote_store import MemoryQuoteStore, QuoteStore, RedisQuoteStore
from services.market.tape import RecentTape
from services.trading import api_keys, orders
from services.trading.store import Store
from settings import ConfigError, Settings

log = logging.getLogger(__name__)

FIRST_QUOTES_WAIT = 15.0  # seconds start-up waits to hear the feed; a dead leader's lock runs out within 6


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    cache: Cache
    bus: Bus
    quote_store: QuoteStore
    hub: QuoteHub
    events: EventHub
    clock: MarketClock
    store: Store  # where every change of money is applied
    pg: AsyncPostgres | None = None  # PostgreSQL from the event loop, for changes of money (None on SQLite)
    roles: set[str] = field(default_factory=set)  # the leader roles this instance holds now
    key_uses: api_keys.UseLog = field(default_factory=api_keys.UseLog)  # when API keys were used, written once a minute
    leaderboards: Leaderboards = field(default_factory=Leaderboards)  # each league's, computed once per interval
    tape: RecentTape = field(default_factory=RecentTape)  # the last minutes of quotes, fed by the hub

    def __post_init__(self) -> None:
        self.hub.add_listener(self.tape.add)

    def leadership(self, role: str) -> Leadership:
        """The lock that makes `role` (feed, execution) run on exactly one instance."""
        if self.settings.redis_url:
            return RedisLeadership(self.settings.redis_url, self.settings.redis_namespace() + f"leader:{role}")
        return SoleLeadership()

    def background_work(self) -> list[Coroutine]:
        """What runs for the life of the process: the quote subscriber, the execution and alert engines and the
        league clock (each leading on one instance at a time), the writer of API key uses, the watch on API key
        sockets while the bus is down, and the feed where configured."""
        from services.alerts.engine import AlertEngine  # these build on this module
        from services.leagues.lifecycle import LeagueClock
        from services.market.feed import MarketFeed
        from services.trading.execution import ExecutionEngine

        work = [self.hub.run(), self.hub.watch(), self.events.run(), self.key_uses.run(self.engine)]
        work.append(api_keys.close_dead_sockets(self.engine, self.bus, self.events))
        work.append(ExecutionEngine(self, self.leadership("execution")).run())
        work.append(AlertEngine(self, self.leadership("alerts")).run())
        work.append(LeagueClock(self, self.leadership("league_clock")).run())
        if self.settings.market_feed == "simulator":
            work.append(MarketFeed(self, self.leadership("feed"), self.clock).run())
        return work

    async def first_quotes(self) -> None:
        """Where this process runs the feed, return once it (or the instance leading it) has been heard, so that
        the app answers HTTP with live quotes; at once where no feed runs (another instance publishes, or none)."""
        if self.settings.market_feed != "simulator":
            return
        try:
            await asyncio.wait_for(self.hub.first_word(), FIRST_QUOTES_WAIT)
        except TimeoutError:
            log.warning("no word from the market feed after %.0f s: serving without live quotes", FIRST_QUOTES_WAIT)

    async def open(self) -> None:
        """What needs the event loop the app serves on (the app's start-up runs this)."""
        if self.pg is not None:
            await self.pg.open()

    async def close(self) -> None:
        await to_thread.run_sync(self.key_uses.flush, self.engine)  # the last minute's uses
        if self.pg is not None:
            await self.pg.close()
        await self.bus.close()
        await self.cache.aclose()
        if isinstance(self.quote_store, RedisQuoteStore):
            await self.quote_store.close()
        self.engine.dispose()


_current: Runtime | None = None


def start(settings: Settings) -> Runtime:
    """Connect, migrate and make the result the process's runtime; bad configuration raises ConfigError."""
    engine = db.make_engine(settings)
    db.check_reachable(engine)
    if settings.redis_url:
        client = redis_clients.sync_client(settings.redis_url)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ConfigError(f"Cannot reach Redis at {_redacted(settings.redis_url)}: {exc}") from None
        namespace = settings.redis_namespace()
        cache: Cache = RedisCache(client, redis_clients.async_client(settings.redis_url), namespace)
        bus: Bus = RedisBus(settings.redis_url, namespace)
        quote_store: QuoteStore = RedisQuoteStore(settings.redis_url, namespace)
    else:
        cache, bus, quote_store = MemoryCache(), LocalBus(), MemoryQuoteStore()
    db.migrate(engine)  # only once everything is reachable, so a bad URL never leaves a half-started schema
    hub = QuoteHub(bus, quote_store, stale_after=settings.quote_max_age)
    pg = None if settings.is_sqlite else AsyncPostgres(settings.database_url)
    return install(
        Runtime(
            settings=settings,
            engine=engine,
            cache=cache,
            bus=bus,
            quote_store=quote_store,
            hub=hub,
            events=EventHub(bus),
            clock=clock_for(settings.market_hours),
            store=Store(engine, pg),
            pg=pg,
        )
    )


def install(rt: Runtime) -> Runtime:
    """Make `rt` the runtime that pages and routes use (tests switch between backends with it)."""
    global _current
    _current = rt
    orders.use_league_rules(LeagueRules(rt.hub.latest))  # league accounts place under their league's rules
    return rt


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("Sherwood's runtime has not been started")
    return _current


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


async def call(fn, *args, **kwargs):
    """Run a blocking service function with a database session of its own in a worker thread: how pages and
    components reach the database without holding up the event loop."""

    def work():
        with db.session_scope(current().engine) as session:
            return fn(session, *args, **kwargs)

    return await to_thread.run_sync(work)
