"""The listed symbols: what the simulator trades and what users can look up."""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from settings import ROOT

SYMBOLS_CSV = ROOT / "data" / "symbols.csv"


@dataclass(frozen=True, slots=True)
class Listing:
    """One tradable symbol with its reference price and annualised volatility, and the reference figures its page
    shows: shares outstanding (for the market cap; none for a fund) as of a date, and a line about the company."""

    symbol: str
    name: str
    sector: str
    reference_price: Decimal
    volatility: float
    shares_outstanding: int | None = None
    figures_as_of: date | None = None
    about: str = ""


def normalize(symbol: str) -> str:
    """The canonical form of a ticker as users may type it."""
    return symbol.strip().upper()


@cache
def listings() -> tuple[Listing, ...]:
    """Every listed symbol, in file order; read once."""
    with SYMBOLS_CSV.open(newline="", encoding="utf-8") as f:
        return tuple(_listing(row) for row in csv.DictReader(f))


def get(symbol: str) -> Listing | None:
    """The listing of a symbol in any case, or None when it is not listed."""
    return _by_symbol().get(normalize(symbol))


def is_listed(symbol: str) -> bool:
    """Whether the symbol (in any case) is listed."""
    return get(symbol) is not None


@cache
def _by_symbol() -> dict[str, Listing]:
    return {listing.symbol: listing for listing in listings()}


def _listing(row: dict[str, str]) -> Listing:
    return Listing(
        symbol=normalize(row["symbol"]),
        name=row["name"].strip(),
        sector=row["sector"].strip(),
        reference_price=Decimal(row["price"]),
        volatility=float(row["volatility"]),
        shares_outstanding=int(row["shares_outstanding"]) if row.get("shares_outstanding") else None,
        figures_as_of=date.fromisoformat(row["figures_as_of"]) if row.get("figures_as_of") else None,
        about=(row.get("about") or "").strip(),
    )
