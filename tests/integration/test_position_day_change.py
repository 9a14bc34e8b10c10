"""Each position's day change in /api/portfolio follows the account's rule: value now less value at the start of
the day, shares bought today counted from their cost; and its share of the portfolio's equity."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from models.account import LedgerEntry
from models.types import utcnow
from services.infra.db import session_scope
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from tests.support.api import sign_up, wait_until
from tests.support.factories import quote as make_quote


def market(started, symbol: str, last: str, change: str) -> None:
    """A quote a cent either side of `last`, `change` above the previous close."""
    previous = started.hub.latest.get(symbol)
    stamp = max(time.time_ns() // 1_000_000, previous.timestamp + 1 if previous else 0)  # never older than the last
    quote = make_quote(symbol, last, change=change, timestamp=stamp)
    started.bus.publish(QUOTES_CHANNEL, encode_batch([quote]))
    wait_until(lambda: started.hub.latest.get(symbol) == quote, f"the hub to see {symbol}")


def place(api, headers, symbol: str, quantity: str, side: str = "buy") -> str:
    body = {"symbol": symbol, "side": side, "orderType": "market", "quantity": quantity}
    response = api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()["order"]["id"]


def held(api, headers) -> dict[str, dict]:
    state = api.get("/api/portfolio", headers=headers).json()
    return {p["symbol"]: p for p in state["positions"]} | {"": state}


def bought_yesterday(started, order_id: str) -> None:
    """As if the order had filled before today began (the ledger says when cash moved)."""
    with session_scope(started.engine) as db:
        entry = db.exec(select(LedgerEntry).where(LedgerEntry.order_id == uuid.UUID(order_id))).one()
        entry.created_at = utcnow() - timedelta(days=2)
        db.add(entry)
        db.commit()


def test_a_position_bought_today_counts_from_its_cost(api, started):
    headers, _ = sign_up(api)
    market(started, "KO", "60.00", change="3.00")  # up $3 since yesterday, but not for shares bought today
    place(api, headers, "KO", "10")  # at the ask: $600.10
    ko = held(api, headers)["KO"]
    assert (ko["dayChange"], ko["dayChangePercent"]) == ("-0.10", "-0.02")  # = its total return so far
    assert ko["dayChange"] == ko["unrealizedPnl"]


def test_a_position_held_since_before_today_moves_with_the_stock_and_todays_trades_from_their_prices(api, started):
    headers, _ = sign_up(api)
    market(started, "PEP", "100.00", change="0")
    bought_yesterday(started, place(api, headers, "PEP", "10"))
    market(started, "PEP", "105.00", change="5.00")  # the previous close was $100
    pep = held(api, headers)["PEP"]
    assert (pep["dayChange"], pep["dayChangePercent"]) == ("50.00", "5.00")

    place(api, headers, "PEP", "10")  # today at $105.01: $1,050.10
    pep = held(api, headers)["PEP"]
    assert pep["dayChange"] == "49.90"  # $2,100.00 now, from $1,000.00 at the open and $1,050.10 paid
    assert pep["dayChangePercent"] == str((Decimal("49.90") / Decimal("2050.10") * 100).quantize(Decimal("0.01")))

    place(api, headers, "PEP", "5", side="sell")  # at $104.99: $524.95 back
    state = held(api, headers)
    assert state["PEP"]["dayChange"] == "49.85"  # $1,575.00 now, from $1,000.00 and $525.15 paid, net
    equity = Decimal(state[""]["equity"])
    assert state["PEP"]["portfolioPercent"] == str((Decimal("1575.00") / equity * 100).quantize(Decimal("0.01")))


def test_each_position_s_share_of_the_portfolio_is_of_its_equity(api, started):
    headers, _ = sign_up(api)
    market(started, "KO", "60.00", change="0")
    market(started, "PEP", "100.00", change="0")
    place(api, headers, "KO", "100")
    place(api, headers, "PEP", "30")
    state = held(api, headers)
    equity = Decimal(state[""]["equity"])
    for symbol in ("KO", "PEP"):
        share = Decimal(state[symbol]["marketValue"]) / equity * 100
        assert state[symbol]["portfolioPercent"] == str(share.quantize(Decimal("0.01")))
    assert Decimal(state["KO"]["portfolioPercent"]) + Decimal(state["PEP"]["portfolioPercent"]) < 100  # and cash
