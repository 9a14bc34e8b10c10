"""Stored candles for the bars the Alpaca SDKs ask for: a series of one symbol, rising by 1 a candle."""

from datetime import datetime, timedelta
from decimal import Decimal

from models.market import Candle
from services.infra.db import session_scope
from services.market import history


def store(sherwood, resolution: str, symbol: str, first: datetime, count: int, step: timedelta, base="100") -> None:
    series = []
    for n in range(count):
        price = Decimal(base) + n
        series.append(
            Candle(
                t=first + n * step, open=price, high=price + 1, low=price - 1, close=price + Decimal("0.5"), volume=10
            )
        )
    with session_scope(sherwood.rt.engine) as db:
        history.save(db, resolution, {symbol: series})
