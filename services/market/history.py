"""Price history: storing candles, serving them at a resolution that fits the range, and what the feed resumes from."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from models.candle import DAY, MINUTE, CandleRow
from models.market import Candle
from models.types import tick_size
from services.market.clock import MarketClock, midnight

# range -> (how far back, bucket size; None keeps the stored resolution)
RANGES: dict[str, tuple[timedelta | None, timedelta | None]] = {
    "1D": (None, timedelta(minutes=5)),
    "1W": (timedelta(days=7), timedelta(hours=1)),
    "1M": (timedelta(days=31), None),
    "3M": (timedelta(days=92), None),
    "1Y": (timedelta(days=366), None),
    "ALL": (None, timedelta(days=7)),
}


def save(db: Session, resolution: str, candles: dict[str, list[Candle]]) -> None:
    """Insert candles; ones already stored (a new leader re-writing a minute) are left as they are."""
    rows = [
        {
            "symbol": symbol,
            "resolution": resolution,
            "t": c.t,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume,
        }
        for symbol, series in candles.items()
        for c in series
    ]
    if rows:
        insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        # One statement executed for many rows: SQLAlchemy batches it, compiling it once.
        db.connection().execute(insert(CandleRow.__table__).on_conflict_do_nothing(), rows)
    db.commit()


def has_history(db: Session) -> bool:
    return db.exec(select(CandleRow.symbol).where(CandleRow.resolution == DAY).limit(1)).first() is not None


def _on_grid(price: Decimal) -> Decimal:
    return price.quantize(tick_size(price))  # the column keeps 4 places; a $271 price reads 271.49, not 271.4900


def _candle(row: CandleRow) -> Candle:
    return Candle(
        t=row.t,
        open=_on_grid(row.open),
        high=_on_grid(row.high),
        low=_on_grid(row.low),
        close=_on_grid(row.close),
        volume=row.volume,
    )


def _stored(db: Session, symbol: str, resolution: str, since: datetime | None = None, until=None) -> list[Candle]:
    query = select(CandleRow).where(CandleRow.symbol == symbol, CandleRow.resolution == resolution)
    if since is not None:
        query = query.where(CandleRow.t >= since)
    if until is not None:
        query = query.where(CandleRow.t < until)
    return [_candle(row) for row in db.exec(query.order_by(CandleRow.t))]


def stored(db: Session, symbol: str, resolution: str, since: datetime | None, until: datetime | None) -> list[Candle]:
    """The stored candles of one resolution with `since <= t < until`, oldest first."""
    return _stored(db, symbol, resolution, since, until)


def closes_since(db: Session, symbols: Iterable[str], since: datetime) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Each symbol's minute closes from `since`, oldest first, in one query for all of them (the mini charts)."""
    query = select(CandleRow.symbol, CandleRow.t, CandleRow.close).where(
        CandleRow.resolution == MINUTE, CandleRow.symbol.in_(list(symbols)), CandleRow.t >= since
    )
    closes: dict[str, list[tuple[datetime, Decimal]]] = {}
    for symbol, t, close in db.exec(query.order_by(CandleRow.symbol, CandleRow.t)):
        closes.setdefault(symbol, []).append((t, _on_grid(close)))
    return closes


def aggregate(candles: Iterable[Candle], bucket: timedelta, origin: datetime) -> list[Candle]:
    """Merge consecutive candles into buckets of `bucket` counted from `origin`."""
    merged: list[Candle] = []
    current_key = None
    for candle in candles:
        key = (candle.t - origin) // bucket
        if merged and key == current_key:
            last = merged[-1]
            merged[-1] = last.model_copy(
                update={
                    "high": max(last.high, candle.high),
                    "low": min(last.low, candle.low),
                    "close": candle.close,
                    "volume": last.volume + candle.volume,
                }
            )
        else:
            merged.append(candle.model_copy(update={"t": origin + key * bucket}))
            current_key = key
    return merged


def day_candle(minutes: list[Candle], day_start: datetime) -> Candle | None:
    """One daily candle from a day's minute candles."""
    if not minutes:
        return None
    return aggregate(minutes, timedelta(days=2), day_start)[0].model_copy(update={"t": day_start})


def _current_day(db: Session, symbol: str, clock: MarketClock, now: datetime) -> tuple[date, list[Candle]]:
    """The latest trading day and its minute candles (the previous session's, while the market is closed)."""
    latest = db.exec(
        select(func.max(CandleRow.t)).where(CandleRow.symbol == symbol, CandleRow.resolution == MINUTE)
    ).first()
    day = clock.trading_day(min(latest, now) if latest else now)
    opens, closes = clock.session(day)
    return day, _stored(db, symbol, MINUTE, since=opens, until=closes)


def history(db: Session, symbol: str, range_name: str, *, clock: MarketClock, now: datetime) -> list[Candle]:
    """Candles for a chart of `range_name`, oldest first, reaching up to the current minute."""
    lookback, bucket = RANGES[range_name]
    day, today = _current_day(db, symbol, clock, now)
    if range_name == "1D":
        return aggregate(today, bucket, clock.session(day)[0])
    if range_name == "1W":
        since = now - lookback
        minutes = _stored(db, symbol, MINUTE, since=since)
        # Days before the minute history began (a fresh install) are drawn from daily candles.
        covered_from = midnight(clock.trading_day(minutes[0].t)) if minutes else now
        older_days = _stored(db, symbol, DAY, since=since, until=covered_from)
        return older_days + aggregate(minutes, bucket, since.replace(minute=0, second=0, microsecond=0))
    days = _stored(db, symbol, DAY, since=now - lookback if lookback else None)
    forming = day_candle(today, midnight(day))
    if forming is not None and (not days or days[-1].t < forming.t):
        days.append(forming)  # today's bar is stored at the day's end; until then it is built from minutes
    if bucket is not None:
        origin = days[0].t if days else now
        return aggregate(days, bucket, origin)
    return days


def roll_day(db: Session, symbols: Iterable[str], day: date, clock: MarketClock) -> None:
    """Store the daily candle of each symbol for a finished trading day, built from its minute candles."""
    opens, closes = clock.session(day)
    candles = {}
    for symbol in symbols:
        bar = day_candle(_stored(db, symbol, MINUTE, since=opens, until=closes), midnight(day))
        if bar is not None:
            candles[symbol] = [bar]
    save(db, DAY, candles)


def prune_minutes(db: Session, before: datetime) -> None:
    """Minute candles are kept for a week and a day: the 1W chart is the longest that uses them."""
    db.execute(CandleRow.__table__.delete().where(CandleRow.resolution == MINUTE, CandleRow.t < before))
    db.commit()


def latest_closes(db: Session, resolution: str, *, before: datetime | None = None) -> dict[str, Decimal]:
    """Each symbol's newest close at this resolution (before `before`): where a restarted feed resumes."""
    newest = select(CandleRow.symbol, func.max(CandleRow.t).label("t")).where(CandleRow.resolution == resolution)
    if before is not None:
        newest = newest.where(CandleRow.t < before)
    newest = newest.group_by(CandleRow.symbol).subquery()
    rows = db.exec(
        select(CandleRow.symbol, CandleRow.close)
        .join(newest, (CandleRow.symbol == newest.c.symbol) & (CandleRow.t == newest.c.t))
        .where(CandleRow.resolution == resolution)
    )
    return dict(rows.all())
