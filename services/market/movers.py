"""Today's movers, pure: from the latest quotes, the top gainers and losers (by the day's change in percent) and the
most active (by shares traded), of every listed symbol or of one sector."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from models.market import Quote
from services.market import symbols

ALL = "all"  # every sector


@dataclass(frozen=True)
class Movers:
    gainers: tuple[str, ...]
    losers: tuple[str, ...]
    active: tuple[str, ...]


def sectors() -> tuple[str, ...]:
    """The listed sectors, in the order the listing file first names them."""
    return tuple(dict.fromkeys(listing.sector for listing in symbols.listings()))


def of_sector(sector: str) -> list[str]:
    return [x.symbol for x in symbols.listings() if sector == ALL or x.sector == sector]


def rank(quotes: Mapping[str, Quote], among: Iterable[str], count: int) -> Movers:
    """The `count` biggest risers, fallers and traders among these symbols (those with a quote); ties by symbol."""
    quoted = sorted((quotes[s] for s in among if s in quotes), key=lambda q: q.symbol)
    up = sorted((q for q in quoted if q.change_percent > 0), key=lambda q: q.change_percent, reverse=True)
    down = sorted((q for q in quoted if q.change_percent < 0), key=lambda q: q.change_percent)
    busy = sorted((q for q in quoted if q.volume > 0), key=lambda q: q.volume, reverse=True)
    return Movers(*(tuple(q.symbol for q in found[:count]) for found in (up, down, busy)))
