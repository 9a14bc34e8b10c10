"""Today's movers: ranked by the day's change in percent and by shares traded, per sector."""

from decimal import Decimal

from services.market import movers
from tests.support.factories import quote


def moved(symbol: str, percent: str, volume: int = 100):
    return quote(symbol, "100.00", volume=volume).model_copy(update={"change_percent": Decimal(percent)})


QUOTES = {
    q.symbol: q
    for q in (
        moved("NVDA", "5.10", 900),
        moved("AMD", "3.20", 300),
        moved("AAPL", "-2.00", 500),
        moved("KO", "-4.50", 100),
        moved("XOM", "0.00", 2000),
        moved("MSFT", "3.20", 0),
    )
}


def test_gainers_losers_and_most_active_in_order():
    ranked = movers.rank(QUOTES, movers.of_sector(movers.ALL), count=10)
    assert ranked.gainers == ("NVDA", "AMD", "MSFT")  # a tie goes by symbol; an unchanged stock is neither
    assert ranked.losers == ("KO", "AAPL")
    assert ranked.active == ("XOM", "NVDA", "AAPL", "AMD", "KO")  # nothing traded: not active
    assert movers.rank(QUOTES, movers.of_sector(movers.ALL), count=2).gainers == ("NVDA", "AMD")


def test_one_sector_and_symbols_without_quotes():
    semis = movers.rank(QUOTES, movers.of_sector("Semiconductors"), count=10)
    assert (semis.gainers, semis.losers, semis.active) == (("NVDA", "AMD"), (), ("NVDA", "AMD"))
    assert movers.rank({}, movers.of_sector(movers.ALL), count=10) == movers.Movers((), (), ())
    assert movers.sectors()[:3] == ("Technology", "Semiconductors", "Communication")
    assert "ETF" in movers.sectors()
