"""The market simulator: correlated random walks published as quotes on the tick grid.

Pure and I/O-free: the feed loop decides how often to call `step` and where the quotes go.
Under a seed every price, spread and volume is reproducible.
"""

import math
import random
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from models.market import Candle, Quote
from services.market.symbols import Listing

# Volatility is annualised over trading time, 252 sessions of 6.5 h; every dt here is trading time.
TRADING_DAY_SECONDS = 6.5 * 3600
TRADING_YEAR_SECONDS = 252 * TRADING_DAY_SECONDS

# Shares of each symbol's variance (market, sector, own). They sum to 1, so the total volatility is
# the listed one; stocks then correlate 0.65 within a sector and 0.40 across. Broad ETFs are almost
# all market: 0.95 among themselves, about 0.6 with a single stock.
STOCK_LOADINGS = (0.40, 0.25, 0.35)
ETF_LOADINGS = (0.90, 0.05, 0.05)
ETF_SECTOR = "ETF"

MIN_PRICE = 0.0001  # the walk floors at one sub-dollar tick so a collapsed name can still recover
CENT = Decimal("0.01")
LOT = 100  # shares per round lot; prints and bars trade whole lots
ACTIVITY_SIGMA = 0.75  # lognormal sigma of how busy a name is: print rates on a real tape differ tenfold
DAILY_DOLLAR_VOLUME = 2e9  # a typical name's dollar volume per session, scaled by its activity
SPREAD_JITTER = (0.8, 1.2)  # quoted spreads breathe around the configured one
VOLUME_NOISE = 0.5  # lognormal sigma of traded size
GAP_SHARE = 0.25  # overnight gap as a share of a day's volatility
WICK_SHARE = 0.5  # how far highs and lows reach past open/close, in bar volatilities
NEW_YORK = ZoneInfo("America/New_York")


def wall_clock_ms() -> int:
    """Now, in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def relative_spread(price: float, volatility: float) -> float:
    """The configured bid-ask spread as a fraction of price.

    A few bps for liquid large caps, more for volatile names, plus a fixed fifth of a cent
    that widens cheap ones.
    """
    return (1.0 + 10.0 * volatility) / 10_000 + 0.002 / price


def grid_index(price: float) -> int:
    """The nearest point of the price grid, counted in ticks from zero; at least one tick.

    The grid steps by 0.0001 below $1 and by cents from $1 up, so index 10_000 is $1.00.
    Counting ticks keeps rounding monotone, which keeps bid < ask and low <= high across $1.
    """
    fine = round(price * 10_000)
    if fine < 10_000:
        return max(fine, 1)
    return max(round(price * 100), 100) + 9_900


def grid_price(index: int) -> Decimal:
    """The price at a grid index: four decimals below $1, cents from $1 up."""
    if index < 10_000:
        return Decimal(index).scaleb(-4)
    return Decimal(index - 9_900).scaleb(-2)


def to_grid(price: float) -> Decimal:
    """A price rounded to its tick."""
    return grid_price(grid_index(price))


@dataclass(slots=True)
class _Tape:
    """The simulator's state of one symbol."""

    listing: Listing
    sector: int  # index of the sector factor
    market_load: float  # volatility times sqrt(variance share), per factor
    sector_load: float
    own_load: float
    price: float  # the true price the walk moves; published prices are gridded from it
    prev_close: Decimal
    activity: float  # relative print rate and dollar volume
    daily_volume: float  # typical shares per session
    volume: int = 0
    last_print: float = 0.0  # simulated clock at the last published quote


class MarketSimulator:
    """Correlated geometric Brownian motion over the listings, published as quotes."""

    def __init__(
        self,
        listings: Iterable[Listing],
        *,
        seed: int | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
        symbols_per_step: int = 25,
    ) -> None:
        self._rng = random.Random(seed)
        # Backfills draw from their own streams, so asking for history never shifts the live tape.
        self._history_seed = self._rng.getrandbits(64)
        self._now_ms = now_ms
        self.symbols_per_step = symbols_per_step
        self._clock = 0.0
        listings = tuple(listings)
        sectors = {sector: i for i, sector in enumerate(dict.fromkeys(x.sector for x in listings))}
        self._sector_count = len(sectors)
        self._tapes = [self._new_tape(x, sectors[x.sector]) for x in listings]
        self._tape_of = {tape.listing.symbol: tape for tape in self._tapes}
        self._total_activity = sum(tape.activity for tape in self._tapes)
        self._latest = {tape.listing.symbol: self._quote(tape) for tape in self._tapes}

    @property
    def symbols(self) -> tuple[str, ...]:
        """The simulated symbols, in listing order."""
        return tuple(self._latest)

    def step(self, dt_seconds: float) -> list[Quote]:
        """Advance by dt seconds of trading time; quotes for a random subset of about symbols_per_step.

        Each symbol prints with a probability proportional to its activity, so busy names
        update often, quiet ones rarely, and the subset size varies from step to step.
        """
        self._advance(dt_seconds)
        rate = self.symbols_per_step / self._total_activity
        draw = self._rng.random
        return [self._publish(tape) for tape in self._tapes if draw() < rate * tape.activity]

    def tick(self, n: int, dt_seconds: float = 1.0) -> list[Quote]:
        """Advance by dt seconds of trading time; quotes for n symbols chosen uniformly."""
        self._advance(dt_seconds)
        chosen = self._rng.sample(self._tapes, min(n, len(self._tapes)))
        return [self._publish(tape) for tape in chosen]

    def roll_day(self) -> None:
        """Start a new trading day: the last price becomes the previous close and volume restarts."""
        zero = Decimal("0.00")
        for tape in self._tapes:
            latest = self._latest[tape.listing.symbol]
            tape.prev_close = latest.last
            tape.volume = 0
            tape.last_print = self._clock  # volume not printed yesterday is not today's
            self._latest[tape.listing.symbol] = latest.model_copy(
                update={"volume": 0, "change": zero, "change_percent": zero, "prev_close": latest.last}
            )

    def restore(self, symbol: str, *, last: Decimal, prev_close: Decimal, volume: int) -> None:
        """Resume a symbol where an earlier feed left it (after a restart or a change of leader)."""
        tape = self._tape_of[symbol]
        tape.price, tape.prev_close, tape.volume = float(last), prev_close, volume
        self._latest[symbol] = self._quote(tape)

    def snapshot(self) -> list[Quote]:
        """The latest quote of every symbol."""
        return list(self._latest.values())

    def backfill_daily(
        self, days: int = 365, *, end: date, symbols: Collection[str] | None = None
    ) -> dict[str, list[Candle]]:
        """Daily candles for the weekdays among the `days` calendar days before `end`.

        Each series closes at its symbol's previous close, where the live day starts; a bar's
        `t` is midnight New York of its session. `symbols` limits the work to those symbols.
        """
        sessions = [end - timedelta(days=back) for back in range(days, 0, -1)]
        starts = [
            datetime(d.year, d.month, d.day, tzinfo=NEW_YORK).astimezone(UTC) for d in sessions if d.weekday() < 5
        ]
        closes = [tape.prev_close for tape in self._tapes]
        stream = f"daily:{days}:{end.isoformat()}"
        return self._backfill(stream, starts, TRADING_DAY_SECONDS, closes=closes, opens=None, symbols=symbols)

    def backfill_minutes(
        self, start: datetime, end: datetime, *, symbols: Collection[str] | None = None
    ) -> dict[str, list[Candle]]:
        """Minute candles for the whole minutes from `start` to the minute holding `end`.

        `start` is taken as the session open: the series opens at the previous close and
        closes at the current price, so it joins the daily history and the live quotes.
        """
        first, stop = _minute_floor(start), _minute_floor(end)
        starts = [first + timedelta(minutes=k) for k in range(int((stop - first) / timedelta(minutes=1)))]
        opens = [tape.prev_close for tape in self._tapes]
        closes = [self._latest[tape.listing.symbol].last for tape in self._tapes]
        stream = f"minutes:{first.isoformat()}:{stop.isoformat()}"
        return self._backfill(stream, starts, 60.0, closes=closes, opens=opens, symbols=symbols)

    def _new_tape(self, listing: Listing, sector: int) -> _Tape:
        shares = ETF_LOADINGS if listing.sector == ETF_SECTOR else STOCK_LOADINGS
        market, own_sector, own = (listing.volatility * math.sqrt(share) for share in shares)
        activity = self._rng.lognormvariate(0.0, ACTIVITY_SIGMA)
        return _Tape(
            listing=listing,
            sector=sector,
            market_load=market,
            sector_load=own_sector,
            own_load=own,
            price=float(listing.reference_price),
            prev_close=to_grid(float(listing.reference_price)),
            activity=activity,
            daily_volume=DAILY_DOLLAR_VOLUME * activity / float(listing.reference_price),
        )

    def _shocks(self, rng: random.Random, dt_seconds: float) -> list[float]:
        """One correlated log return per symbol over dt seconds of trading time."""
        years = dt_seconds / TRADING_YEAR_SECONDS
        root = math.sqrt(years)
        gauss = rng.gauss
        market = gauss(0.0, 1.0)
        sectors = [gauss(0.0, 1.0) for _ in range(self._sector_count)]
        # The -sigma^2/2 drift makes each price a martingale: no built-in trend up or down.
        return [
            root * (t.market_load * market + t.sector_load * sectors[t.sector] + t.own_load * gauss(0.0, 1.0))
            - 0.5 * t.listing.volatility**2 * years
            for t in self._tapes
        ]

    def _advance(self, dt_seconds: float) -> None:
        if dt_seconds < 0:
            raise ValueError("dt_seconds must not be negative")
        self._clock += dt_seconds
        for tape, shock in zip(self._tapes, self._shocks(self._rng, dt_seconds), strict=True):
            tape.price = max(tape.price * math.exp(shock), MIN_PRICE)

    def _publish(self, tape: _Tape) -> Quote:
        """A print: trades the volume due since the symbol last printed, then quotes it."""
        due = tape.daily_volume * (self._clock - tape.last_print) / TRADING_DAY_SECONDS
        tape.volume += _lots(self._rng, due)
        tape.last_print = self._clock
        quote = self._quote(tape)
        self._latest[tape.listing.symbol] = quote
        return quote

    def _quote(self, tape: _Tape) -> Quote:
        price = tape.price
        half = price * relative_spread(price, tape.listing.volatility) * self._rng.uniform(*SPREAD_JITTER) / 2
        bid = grid_index(price - half)
        ask = max(grid_index(price + half), bid + 1)
        last = grid_price(min(max(grid_index(price), bid), ask))
        change = last - tape.prev_close
        return Quote(
            symbol=tape.listing.symbol,
            bid=grid_price(bid),
            ask=grid_price(ask),
            last=last,
            volume=tape.volume,
            timestamp=self._now_ms(),
            change=change,
            change_percent=(change / tape.prev_close * 100).quantize(CENT),
            prev_close=tape.prev_close,
        )

    def _backfill(
        self,
        stream: str,
        starts: list[datetime],
        bar_seconds: float,
        *,
        closes: list[Decimal],
        opens: list[Decimal] | None,
        symbols: Collection[str] | None,
    ) -> dict[str, list[Candle]]:
        """Candles at `starts` per symbol: a correlated walk pinned to end at `closes` (and begin at `opens`).

        Every symbol's bars come from its own seeded stream, so a symbol's history does not
        depend on which other symbols were asked for.
        """
        market = random.Random(f"{self._history_seed}:{stream}")
        rows = [self._shocks(market, bar_seconds) for _ in starts]
        gap_share = GAP_SHARE if opens is None else 0.0  # a series pinned at its open has no gaps
        history = {}
        for i, tape in enumerate(self._tapes):
            symbol = tape.listing.symbol
            if symbols is not None and symbol not in symbols:
                continue
            start = None if opens is None else math.log(float(opens[i]))
            path = _log_path([row[i] for row in rows], end=math.log(float(closes[i])), start=start)
            sigma = tape.listing.volatility * math.sqrt(bar_seconds / TRADING_YEAR_SECONDS)
            volume = tape.daily_volume * bar_seconds / TRADING_DAY_SECONDS
            rng = random.Random(f"{self._history_seed}:{stream}:{symbol}")
            history[symbol] = [
                _candle(rng, t, o, c, sigma=sigma, gap=gap_share * sigma, volume=volume)
                for t, o, c in zip(starts, path[:-1], path[1:], strict=True)
            ]
        return history


def _log_path(shocks: list[float], *, end: float, start: float | None) -> list[float]:
    """Log prices at the len(shocks)+1 bar edges, ending at `end`; a bridge when `start` is pinned too."""
    walk = list(accumulate(shocks, initial=0.0))
    if start is None:
        return [end - walk[-1] + w for w in walk]
    # Tilt the walk linearly so it leaves `start` and lands on `end`: a Brownian bridge.
    tilt = (end - start - walk[-1]) / max(len(shocks), 1)
    return [start + w + k * tilt for k, w in enumerate(walk)]


def _candle(
    rng: random.Random, t: datetime, open_: float, close: float, *, sigma: float, gap: float, volume: float
) -> Candle:
    """One bar from log open and close; wicks reach past both, and all four land on the grid."""
    open_ += rng.gauss(0.0, gap)
    high = max(open_, close) + WICK_SHARE * sigma * abs(rng.gauss(0.0, 1.0))
    low = min(open_, close) - WICK_SHARE * sigma * abs(rng.gauss(0.0, 1.0))
    o, h, lo, c = (grid_index(math.exp(x)) for x in (open_, high, low, close))
    return Candle(
        t=t,
        open=grid_price(o),
        high=grid_price(h),
        low=grid_price(lo),
        close=grid_price(c),
        volume=_lots(rng, volume),
    )


def _lots(rng: random.Random, shares: float) -> int:
    """A traded size around `shares`, in whole lots, at least one."""
    noise = rng.lognormvariate(-(VOLUME_NOISE**2) / 2, VOLUME_NOISE)  # mean 1
    return LOT * max(1, round(shares * noise / LOT))


def _minute_floor(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("backfill times must be timezone-aware")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
