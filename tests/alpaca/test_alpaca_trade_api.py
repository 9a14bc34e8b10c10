"""alpaca-trade-api 3.2.0, the legacy Alpaca SDK, against Sherwood. It pins websockets<11 and msgpack==1.0.3, so it
lives in a venv of its own (.venv-ata, made by scripts/setup.sh): the bots in tests/alpaca/trade_api/ run with that
venv's python, pointed at the running server by exactly the README's lines, and print what the SDK handed them as
JSON for these tests to judge. One run of each bot per backend serves every test of it (a subprocess is slow)."""

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from models.candle import DAY, MINUTE
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from tests.alpaca.candles import store
from tests.alpaca.conftest import Trader, sign_up
from tests.support.factories import quote as make_quote
from tests.support.server import ROOT, app_env

BOTS = Path(__file__).parent / "trade_api"
README_HOST = "http://127.0.0.1:8080"  # where the README's lines point; the tests put their server there instead
BAR_DAY = datetime(2024, 2, 5, 5, tzinfo=UTC)  # a Monday's New York midnight: the stored daily candles start here


@pytest.fixture(scope="session")
def trade_api_python() -> Path:
    # A no-op once the venv matches requirements-alpaca-trade-api.txt (`make test` has built it by then).
    subprocess.run(["bash", "scripts/setup.sh", "alpaca-trade-api"], cwd=ROOT, check=True, timeout=600)
    return ROOT / ".venv-ata" / "bin" / "python"


def readme_lines(url: str) -> dict[str, str]:
    """The environment the README tells an alpaca-trade-api user to set, with this server's URL in it."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run your Alpaca bot on Sherwood", 1)[1].split("\n## ", 1)[0]
    found = dict(re.findall(r"^export (APCA_API_\w+_URL)=(\S+)$", section, re.MULTILINE))
    assert set(found) == {"APCA_API_BASE_URL", "APCA_API_DATA_URL", "APCA_API_STREAM_URL"}, found
    return {name: value.replace(README_HOST, url) for name, value in found.items()}


def run_bot(python: Path, script: str, url: str, trader: Trader, **env: str) -> dict:
    keys = {"APCA_API_KEY_ID": trader.key_id, "APCA_API_SECRET_KEY": trader.secret}
    environment = app_env(**readme_lines(url), **keys, **env)
    run = subprocess.run(
        [str(python), str(BOTS / script)], env=environment, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def alpaca_error(status: int, code: int, message: str) -> dict:
    """What the bots record of an APIError."""
    return {"status": status, "code": code, "message": message}


_rest_runs: dict[str, tuple[Trader, dict]] = {}


@pytest.fixture
def rest(sherwood, trade_api_python) -> tuple[Trader, dict]:
    """The REST bot's run on this backend, and the trader it ran as."""
    if sherwood.url not in _rest_runs:
        trader = sign_up(sherwood.url)
        sherwood.quote("AAPL", "200.00", "200.10", last="200.05")
        sherwood.quote("MSFT", "300.00", "300.10")
        store(sherwood, DAY, "CVX", BAR_DAY, 10, timedelta(days=1))
        store(sherwood, DAY, "COP", BAR_DAY, 10, timedelta(days=1), base="300")
        store(sherwood, MINUTE, "CVX", BAR_DAY + timedelta(hours=9, minutes=30), 10, timedelta(minutes=1))
        ran = run_bot(
            trade_api_python, "rest_bot.py", sherwood.url, trader, BAR_SYMBOLS="CVX,COP", BAR_DAY="2024-02-05"
        )
        _rest_runs[sherwood.url] = trader, ran
    return _rest_runs[sherwood.url]


def test_account_assets_clock_and_calendar(rest):
    _, got = rest
    assert got["account"] == {
        "id": got["account"]["id"],
        "status": "ACTIVE",
        "cash": "100000",
        "buying_power": "100000",
        "multiplier": "1",
        "shorting_enabled": False,
        "portfolio_value": 100000.0,
    }
    assert {"AAPL", "MSFT", "PEP"} <= set(got["assets"])
    asset = got["asset"]
    assert (asset["symbol"], asset["class"], asset["status"]) == ("AAPL", "us_equity", "active") and asset["tradable"]
    assert got["asset_by_id"] == "AAPL"
    assert got["unknown_asset"] == alpaca_error(404, 40410000, "asset not found for NOPE")
    assert got["clock"]["is_open"] is True and got["clock"]["opens_in"] > 0  # MARKET_HOURS=always
    assert got["calendar"] == [
        ["2026-11-30", "00:00:00", "23:59:00", "00:00:00", "23:59:00"],
        ["2026-12-01", "00:00:00", "23:59:00", "00:00:00", "23:59:00"],
    ]


def test_orders_are_placed_read_listed_replaced_and_canceled(sherwood, rest):
    trader, got = rest
    market, limit, replaced = got["market"], got["limit"], got["replace"]
    assert (market["status"], market["client_order_id"], market["qty"], market["filled_avg_price"]) == (
        "filled",
        "tapi-m",
        "3",
        "200.1",
    )
    listed = httpx.get(f"{sherwood.url}/api/orders", headers=trader.key).json()["orders"]
    mirrored = next(o for o in listed if o["id"] == market["id"])  # the same order on /api
    assert (mirrored["clientOrderId"], mirrored["status"]) == ("tapi-m", "filled")
    assert (limit["status"], limit["limit_price"], limit["client_order_id"]) == ("new", "100.5", "tapi-1")
    assert got["get_order"] == limit and got["by_client_order_id"] == limit["id"]
    assert got["repeated_client_order_id"] == alpaca_error(422, 40010001, "client_order_id must be unique")
    assert got["open_orders"] == [limit["id"]]
    assert got["all_orders_oldest_first"] == [market["id"], limit["id"]]
    assert got["buys_of_aapl"] == [limit["id"], market["id"]]
    assert (replaced["qty"], replaced["limit_price"], replaced["replaces"]) == ("2", "101.25", limit["id"])
    assert (got["after_replace"]["status"], got["after_replace"]["replaced_by"]) == ("replaced", replaced["id"])
    assert (got["cancel"], got["canceled"]) == (None, "canceled")
    assert got["cancel_again"] == alpaca_error(422, 42210000, 'order is already in "canceled" state')
    assert got["cancel_unknown"] == alpaca_error(404, 40410000, "order not found")


def test_a_bracket_and_alpacas_refusals(rest):
    _, got = rest
    bracket = got["bracket"]
    assert (bracket["order_class"], bracket["status"], bracket["filled_avg_price"]) == ("bracket", "filled", "200.1")
    assert bracket["legs"] == [
        {"type": "limit", "side": "sell", "status": "new"},
        {"type": "stop_limit", "side": "sell", "status": "new"},
    ]
    trailing, trail = got["trailing_stop"], got["trail_replaced"]
    assert (trailing["type"], trailing["trail_percent"], trailing["status"]) == ("trailing_stop", "1.5", "new")
    assert (trail["trail_percent"], trail["replaces"], got["trail_canceled"]) == ("2.5", trailing["id"], None)
    assert got["nested"] == [2]  # the open bracket, its legs rolled up
    assert got["too_many_shares"] == alpaca_error(
        403, 40310000, "insufficient qty available for order (requested: 10, available: 0)"
    )
    assert got["too_much_money"] == alpaca_error(403, 40310000, "insufficient buying power")
    assert (got["bad_qty"]["status"], got["bad_qty"]["code"]) == (422, 40010001)


def test_positions_are_read_and_closed(rest):
    _, got = rest
    assert got["positions"] == [["AAPL", "4", "long", "3"]]  # one share held for the bracket's exits
    assert got["position"] == {"qty": "4", "avg_entry_price": "200.1", "cost_basis": "800.4"}
    assert got["no_position"] == alpaca_error(404, 40410000, "position does not exist")
    closed = got["close_one"]
    assert (closed["side"], closed["qty"], closed["status"]) == ("sell", "1", "filled")
    assert closed["filled_avg_price"] == "200"  # at the bid
    assert got["cancel_all"] is None
    assert got["close_all"] == [["AAPL", 200, "sell"]] and got["flat"] == []
    by_amount = got["notional"]
    assert (by_amount["notional"], by_amount["status"], by_amount["qty"]) == ("100.25", "filled", "0.500999")
    assert by_amount["filled_qty"] == "0.500999"  # 100.25 / 200.1, to the share's millionth


def test_market_data_history_and_activities(rest):
    _, got = rest
    assert len(got["daily_bars"]) == 10 and got["daily_bars"][0] == {
        "t": "2024-02-05 00:00:00-05:00",
        "o": 100,
        "h": 101,
        "l": 99,
        "c": 100.5,
        "v": 10,
        "n": None,
        "vw": None,
    }
    assert got["daily_df"] == {"rows": 10, "columns": ["close", "high", "low", "open", "trade_count", "volume", "vwap"]}
    assert got["weekly_bars"] == [["COP", 300, 306.5, 70], ["COP", 307, 309.5, 30], ["CVX", 100, 106.5, 70]]
    assert got["five_minute_bars"] == [[100, 104.5, 50], [105, 109.5, 50]]
    assert (got["latest_quote"]["bp"], got["latest_quote"]["ap"], got["latest_trade"]["p"]) == (200.0, 200.1, 200.05)
    assert got["latest_bar"]["c"] == 200.05 and got["latest_bar"]["n"] is None
    assert got["snapshot"] == {"ask": 200.1, "last": 200.05, "minute_close": 200.05, "has_daily_bar": False}
    assert got["snapshots"] == ["AAPL", "MSFT"] and got["latest_quotes"] == {"AAPL": 200.1, "MSFT": 300.1}
    assert got["unknown_symbol_quote"] == alpaca_error(422, 40010001, "invalid symbol: NOPE")
    history = got["history"]
    assert len(history["timestamps"]) == len(history["equity"]) == history["df_rows"] >= 1
    assert all(isinstance(t, int) for t in history["timestamps"]) and history["base_value"] == 100000.0
    assert "FILL" in got["activities"]
    assert got["fills"] == [
        ["buy", "0.500999", "AAPL"],
        ["sell", "3", "AAPL"],
        ["sell", "1", "AAPL"],
        ["buy", "1", "AAPL"],
        ["buy", "3", "AAPL"],
    ]


def test_watchlists_and_account_configurations(rest):
    _, got = rest
    assert got["fractional_trading"] is True
    assert got["watchlist_by_name"] is True and got["watchlist_added"] == ["AAPL", "MSFT"]
    assert (got["watchlist_removed"], got["watchlist_renamed"]) == (None, "tapi-renamed")
    assert ["tapi-renamed", ["MSFT"]] in got["watchlists"]
    assert got["watchlist_deleted"] is None
    assert got["watchlist_gone"] == alpaca_error(404, 40410000, "watchlist not found")


@contextmanager
def falling(sherwood, symbol: str) -> Iterator[None]:
    """Ticks of `symbol` every 100 ms, a quarter down each time with a growing day volume (each one a trade),
    stamped 20 s apart from a few minutes ahead (so every third one closes a minute bar, and no other quote of the
    symbol is newer)."""
    stop = threading.Event()
    minute = (time.time_ns() // 60_000_000_000 + 5) * 60_000

    def tick() -> None:
        for n in range(1200):
            last = Decimal(300) - Decimal("0.25") * n
            sent = make_quote(symbol, str(last), volume=1000 * (n + 1), timestamp=minute + n * 20_000)
            sherwood.rt.bus.publish(QUOTES_CHANNEL, encode_batch([sent]))
            if stop.wait(0.1):
                return

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join(timeout=10)


def test_the_stream_hears_fills_and_the_market(sherwood, trader, trade_api_python):
    sherwood.quote("AAPL", "200.00", "200.10")
    with falling(sherwood, "PEP"):
        got = run_bot(trade_api_python, "stream_bot.py", sherwood.url, trader, SYMBOL="AAPL", DATA_SYMBOL="PEP")
    assert got["new"]["event"] == "new" and got["new"]["price"] is None and got["new"]["timestamp"]
    fill = got["fill"]
    assert (fill["order_status"], fill["price"], fill["qty"], fill["position_qty"]) == ("filled", "200.1", "1", "1")
    assert fill["execution_id"] and fill["timestamp"].endswith("Z")
    engine = got["engine_fill"]  # a resting limit, filled by the execution engine as the ticks fell
    assert engine["order_id"] == engine["ordered"] and engine["order_status"] == "filled"
    assert Decimal(engine["price"]) <= Decimal(str(got["limit_price"])) and engine["position_qty"] == "2"
    quote, trade, bar = got["quote"], got["trade"], got["bar"]
    assert quote["symbol"] == "PEP" and quote["ask"] - quote["bid"] == pytest.approx(0.02)
    assert quote["t"] > time.time_ns() and quote["t"] % 1_000_000 == 0  # the tick's own stamp (ms), ahead of now
    assert trade["symbol"] == "PEP" and trade["size"] > 0 and trade["price"] <= 300
    assert bar["symbol"] == "PEP" and bar["open"] >= bar["close"] and bar["volume"] > 0
    assert bar["t"] % 60_000_000_000 == 0 and bar["t"] > time.time_ns()  # a minute bar of the ticks, at its start
