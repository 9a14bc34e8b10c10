"""Every table, imported in one place so the metadata is complete for migrations and tests."""

from sqlmodel import SQLModel

from models.account import Account, LedgerEntry, Position
from models.alert import PriceAlert
from models.api_key import ApiKey
from models.candle import CandleRow
from models.league import League, LeagueMember
from models.order import IdempotencyRecord, Order
from models.portfolio import EquitySnapshot
from models.user import LoginSession, User
from models.watchlist import WatchlistItem

metadata = SQLModel.metadata

__all__ = [
    "Account",
    "ApiKey",
    "CandleRow",
    "EquitySnapshot",
    "IdempotencyRecord",
    "League",
    "LeagueMember",
    "LedgerEntry",
    "LoginSession",
    "Order",
    "Position",
    "PriceAlert",
    "User",
    "WatchlistItem",
    "metadata",
]
