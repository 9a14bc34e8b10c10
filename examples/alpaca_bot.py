"""A tiny Alpaca bot, unchanged but for its URL and key pair, trading on Sherwood.

    pip install alpaca-py
    SHERWOOD_URL=http://127.0.0.1:8080 APCA_API_KEY_ID=PK... APCA_API_SECRET_KEY=... python examples/alpaca_bot.py

It reads its account and the latest AAPL quote, rests a limit buy 5 % under the ask, lists its open orders and
cancels the one it placed.
"""

import os

from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest

BASE = os.environ.get("SHERWOOD_URL", "http://127.0.0.1:8080") + "/alpaca"  # the only line that differs
KEY, SECRET = os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"]
SYMBOL = os.environ.get("SYMBOL", "AAPL")

trading = TradingClient(KEY, SECRET, paper=True, url_override=BASE)
data = StockHistoricalDataClient(KEY, SECRET, url_override=BASE)

account = trading.get_account()
print(f"account {account.account_number}: cash ${account.cash}, buying power ${account.buying_power}")
quote = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=SYMBOL))[SYMBOL]
print(f"{SYMBOL}: bid {quote.bid_price} ask {quote.ask_price}")

limit = round(quote.ask_price * 0.95, 2)
order = trading.submit_order(
    LimitOrderRequest(symbol=SYMBOL, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=limit)
)
print(f"placed {order.id}: buy 1 {SYMBOL} at {order.limit_price}, {order.status.value}")
print("open orders:", [str(o.id) for o in trading.get_orders()])
trading.cancel_order_by_id(order.id)
print(f"canceled: {trading.get_order_by_id(order.id).status.value}")
