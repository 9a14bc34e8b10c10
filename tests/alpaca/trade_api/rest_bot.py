"""A bot written for alpaca-trade-api 3.2.0's REST, run by the tests with the python of .venv-ata (the SDK cannot
live in the app's venv). It is pointed at Sherwood only by the APCA_* environment variables of the README, makes
every call of the SDK that ALPACA-NOTES.md marks P0/P1, reads what it got back the way bots do (attribute access,
`.df`), and prints it all as one JSON object for the test to judge. An APIError is recorded, not raised."""

import datetime
import json
import os
import sys
import uuid

import alpaca_trade_api as tradeapi
from alpaca_trade_api.rest import APIError, TimeFrame, TimeFrameUnit

api = tradeapi.REST()  # APCA_API_BASE_URL, APCA_API_DATA_URL, APCA_API_KEY_ID, APCA_API_SECRET_KEY
results: dict = {}


def call(name, read):
    """Run one call; keep what `read` made of it, or the APIError it raised as Alpaca's status, code and message."""
    try:
        results[name] = read()
    except APIError as error:
        results[name] = {"status": error.status_code, "code": error.code, "message": str(error)}
    return results[name]


def order_fields(order) -> dict:
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "status": order.status,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "qty": order.qty,
        "notional": order.notional,
        "filled_qty": order.filled_qty,
        "filled_avg_price": order.filled_avg_price,
        "limit_price": order.limit_price,
        "order_class": order.order_class,
        "replaces": order.replaces,
        "replaced_by": order.replaced_by,
        "submitted_at": str(order.submitted_at),
        "legs": [{"type": leg.type, "side": leg.side, "status": leg.status} for leg in order.legs or []],
    }


def bar_fields(bar) -> dict:
    return {"t": bar.t, "o": bar.o, "h": bar.h, "l": bar.l, "c": bar.c, "v": bar.v, "n": bar.n, "vw": bar.vw}


def account():
    acct = api.get_account()
    return {
        "id": acct.id,
        "status": acct.status,
        "cash": acct.cash,
        "buying_power": acct.buying_power,
        "multiplier": acct.multiplier,
        "shorting_enabled": acct.shorting_enabled,
        "portfolio_value": float(acct.portfolio_value),
    }


call("account", account)
call("assets", lambda: sorted(a.symbol for a in api.list_assets(status="active", asset_class="us_equity")))
asset = call("asset", lambda: dict(api.get_asset("AAPL")._raw))
call("asset_by_id", lambda: api.get_asset(asset["id"]).symbol)
call("unknown_asset", lambda: api.get_asset("NOPE"))
clock = api.get_clock()
results["clock"] = {"is_open": clock.is_open, "opens_in": (clock.next_open - clock.timestamp).total_seconds()}
days = api.get_calendar(start="2026-11-30", end="2026-12-01")
results["calendar"] = [
    [str(d.date.date()), str(d.open), str(d.close), str(d.session_open), str(d.session_close)] for d in days
]

# Orders: market and limit with client order ids, read back, listed, replaced, canceled.
call("market", lambda: order_fields(api.submit_order("AAPL", 3, "buy", "market", "day", client_order_id="tapi-m")))
limit = call(
    "limit",
    lambda: order_fields(
        api.submit_order("AAPL", 1, "buy", "limit", "gtc", limit_price=100.5, client_order_id="tapi-1")
    ),
)
call("get_order", lambda: order_fields(api.get_order(limit["id"])))
call("by_client_order_id", lambda: api.get_order_by_client_order_id("tapi-1").id)
call("repeated_client_order_id", lambda: api.submit_order("AAPL", 1, client_order_id="tapi-1"))
call("open_orders", lambda: [o.id for o in api.list_orders()])
call("all_orders_oldest_first", lambda: [o.id for o in api.list_orders(status="all", direction="asc", limit=10)])
call("buys_of_aapl", lambda: [o.id for o in api.list_orders(status="all", symbols=["AAPL"], side="buy")])
replaced = call("replace", lambda: order_fields(api.replace_order(limit["id"], qty="2", limit_price="101.25")))
call("after_replace", lambda: order_fields(api.get_order(limit["id"])))
call("cancel", lambda: api.cancel_order(replaced["id"]))
call("canceled", lambda: api.get_order(replaced["id"]).status)
call("cancel_again", lambda: api.cancel_order(replaced["id"]))
call("cancel_unknown", lambda: api.cancel_order(str(uuid.uuid4())))
call(
    "bracket",
    lambda: order_fields(
        api.submit_order(
            "AAPL",
            1,
            "buy",
            "market",
            "gtc",
            order_class="bracket",
            take_profit={"limit_price": "250"},
            stop_loss={"stop_price": "150", "limit_price": "149.5"},
        )
    ),
)
trailing = call(
    "trailing_stop",
    lambda: api.submit_order("AAPL", 1, "sell", "trailing_stop", "gtc", trail_percent="1.5")._raw,
)
trail = call("trail_replaced", lambda: api.replace_order(trailing["id"], trail="2.5")._raw)
call("trail_canceled", lambda: api.cancel_order(trail["id"]))
call("nested", lambda: [len(o.legs or []) for o in api.list_orders(nested=True)])
call("too_many_shares", lambda: api.submit_order("MSFT", 10, "sell", "market", "day"))
call("too_much_money", lambda: api.submit_order("AAPL", 100000, "buy", "market", "day"))
call("bad_qty", lambda: api.submit_order("AAPL", -1, "buy", "market", "day"))

# Positions.
call("positions", lambda: [(p.symbol, p.qty, p.side, p.qty_available) for p in api.list_positions()])
call("position", lambda: {k: api.get_position("AAPL")._raw[k] for k in ("qty", "avg_entry_price", "cost_basis")})
call("no_position", lambda: api.get_position("MSFT"))
call("close_one", lambda: order_fields(api.close_position("AAPL", qty=1)))
call("cancel_all", api.cancel_all_orders)
call("close_all", lambda: [(c.symbol, c.status, c.body["side"]) for c in api.close_all_positions()])
call("flat", api.list_positions)
call("notional", lambda: order_fields(api.submit_order("AAPL", notional=100.25, side="buy", type="market")))

# Market data, from APCA_API_DATA_URL.
first, second = os.environ["BAR_SYMBOLS"].split(",")  # with daily and minute candles stored from BAR_DAY
day = datetime.date.fromisoformat(os.environ["BAR_DAY"])
tenth = str(day + datetime.timedelta(days=9))
daily = api.get_bars(first, TimeFrame.Day, str(day), tenth)
results["daily_bars"] = [bar_fields(b) for b in daily]
results["daily_df"] = {"rows": len(daily.df), "columns": sorted(daily.df.columns)}
weekly = api.get_bars([second, first], TimeFrame(1, TimeFrameUnit.Week), str(day), tenth, limit=3)
results["weekly_bars"] = [[b.S, b.o, b.c, b.v] for b in weekly]  # the limit counts across symbols
five = api.get_bars(first, TimeFrame(5, TimeFrameUnit.Minute), f"{day}T14:30:00Z", f"{day}T14:39:00Z")
results["five_minute_bars"] = [[b.o, b.c, b.v] for b in five]
quote = api.get_latest_quote("AAPL")
results["latest_quote"] = {"bp": quote.bp, "ap": quote.ap, "bs": quote.bs, "t": quote.t}
trade = api.get_latest_trade("AAPL")
results["latest_trade"] = {"p": trade.p, "s": trade.s, "t": trade.t}
results["latest_bar"] = bar_fields(api.get_latest_bar("AAPL"))
snapshot = api.get_snapshot("AAPL")
results["snapshot"] = {
    "ask": snapshot.latest_quote.ap,
    "last": snapshot.latest_trade.p,
    "minute_close": snapshot.minute_bar.c,
    "has_daily_bar": snapshot.daily_bar is not None,  # none before a candle of the day is stored
}
results["snapshots"] = sorted(api.get_snapshots(["AAPL", "MSFT"]))
results["latest_quotes"] = {s: q.ap for s, q in api.get_latest_quotes(["AAPL", "MSFT"]).items()}
call("unknown_symbol_quote", lambda: api.get_latest_quote("NOPE"))

history = api.get_portfolio_history(period="1W", timeframe="1D")
results["history"] = {
    "timestamps": history.timestamp,
    "equity": history.equity,
    "base_value": history.base_value,
    "df_rows": len(history.df),
}
results["activities"] = sorted({a.activity_type for a in api.get_activities()})
results["fills"] = [(a.side, a.qty, a.symbol) for a in api.get_activities("FILL")]

results["fractional_trading"] = api.get_account_configurations().fractional_trading

# Watchlists (alpaca-trade-api alone reads one by name).
listed = api.create_watchlist("tapi-list", ["AAPL"])
call("watchlist_by_name", lambda: api.get_watchlist_by_name("tapi-list").id == listed.id)
call("watchlist_added", lambda: [a["symbol"] for a in api.add_to_watchlist(listed.id, "MSFT").assets])
call("watchlist_removed", lambda: api.delete_from_watchlist(listed.id, "AAPL"))
call("watchlist_renamed", lambda: api.update_watchlist(listed.id, name="tapi-renamed").name)
call("watchlists", lambda: [(w.name, [a["symbol"] for a in w.assets or []]) for w in api.get_watchlists()])
call("watchlist_deleted", lambda: api.delete_watchlist(listed.id))
call("watchlist_gone", lambda: api.get_watchlist(listed.id))

json.dump(results, sys.stdout, default=str)
