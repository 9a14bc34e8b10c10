"""Alpaca's JSON objects, as alpaca-py 0.44 parses them: every documented key present (null where it does not
apply), money and quantities as decimal strings, ids as UUIDs, times as RFC 3339 in UTC with `Z`."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.order import OrderPublic, plain
from services.market import symbols
from services.market.symbols import Listing

# Sherwood's simulated listings carry no exchange; every asset is reported on one of alpaca-py's safe values.
EXCHANGE = "NASDAQ"
_ASSET_NAMESPACE = uuid.UUID("5f1c0a3e-8d4b-4e43-9b0e-6a9d2c7e4b11")  # asset ids: stable per symbol, everywhere


def ts(moment: datetime | None) -> str | None:
    """A trading object's time: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None


def text(value: Decimal | None) -> str | None:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros ("1", "150.25")."""
    return plain(value) if value is not None else None


def asset_id(symbol: str) -> uuid.UUID:
    return uuid.uuid5(_ASSET_NAMESPACE, symbol)


def listing_by_id(text_id: str) -> Listing | None:
    """The listing whose asset id this is (ids are derived, so the map is built once per call from the list)."""
    try:
        wanted = uuid.UUID(text_id)
    except ValueError:
        return None
    return next((x for x in symbols.listings() if asset_id(x.symbol) == wanted), None)


class Asset(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    asset_class: str = Field("us_equity", alias="class")  # the JSON key is `class` (a Position says asset_class)
    exchange: str = EXCHANGE
    symbol: str
    name: str
    status: str = "active"
    tradable: bool = True
    marginable: bool = False  # cash accounts
    shortable: bool = False
    easy_to_borrow: bool = False
    fractionable: bool = True
    maintenance_margin_requirement: str = "100"
    min_order_size: str = "0.000001"
    min_trade_increment: str = "0.000001"
    price_increment: str = "0.01"
    attributes: list[str] = Field(default_factory=lambda: ["fractional_eh_enabled"])

    @classmethod
    def of(cls, listing: Listing) -> "Asset":
        return cls(id=asset_id(listing.symbol), symbol=listing.symbol, name=listing.name)


class Account(BaseModel):
    id: uuid.UUID
    account_number: str
    status: str = "ACTIVE"
    crypto_status: str = "INACTIVE"
    currency: str = "USD"
    cash: str
    buying_power: str
    regt_buying_power: str
    daytrading_buying_power: str = "0"
    non_marginable_buying_power: str
    options_buying_power: str = "0"
    effective_buying_power: str
    equity: str
    last_equity: str
    portfolio_value: str
    long_market_value: str
    short_market_value: str = "0"
    position_market_value: str
    initial_margin: str = "0"
    maintenance_margin: str = "0"
    last_maintenance_margin: str = "0"
    sma: str = "0"
    accrued_fees: str = "0"
    pending_transfer_in: str = "0"
    pending_transfer_out: str = "0"
    multiplier: str = "1"  # a cash account
    pattern_day_trader: bool = False
    trading_blocked: bool = False
    transfers_blocked: bool = False
    account_blocked: bool = False
    trade_suspended_by_user: bool = False
    shorting_enabled: bool = False
    daytrade_count: int = 0
    options_approved_level: int = 0
    options_trading_level: int = 0
    balance_asof: str
    created_at: str


class AccountConfiguration(BaseModel):
    dtbp_check: str = "entry"
    fractional_trading: bool = True
    max_margin_multiplier: str = "1"
    max_options_trading_level: int = 0
    no_shorting: bool = True
    pdt_check: str = "entry"
    ptp_no_exception_entry: bool = False
    suspend_trade: bool = False
    trade_confirm_email: str = "none"


class Clock(BaseModel):
    timestamp: str
    is_open: bool
    next_open: str
    next_close: str


class CalendarDay(BaseModel):
    date: str
    open: str  # HH:MM, New York time
    close: str
    session_open: str  # HHMM
    session_close: str
    settlement_date: str


def order_status(status: str, filled_quantity: Decimal) -> str:
    """Sherwood's status in Alpaca's words: a resting order is `new` (`partially_filled` once some of it traded);
    filled, canceled, expired, rejected, held and replaced are the same words."""
    if status == "pending":
        return "partially_filled" if filled_quantity > 0 else "new"
    return status


class Order(BaseModel):
    id: uuid.UUID
    client_order_id: str
    created_at: str
    updated_at: str
    submitted_at: str
    filled_at: str | None
    expired_at: str | None
    expires_at: str | None
    canceled_at: str | None
    failed_at: str | None
    replaced_at: str | None
    replaced_by: uuid.UUID | None
    replaces: uuid.UUID | None
    asset_id: uuid.UUID
    symbol: str
    asset_class: str = "us_equity"
    notional: str | None
    qty: str | None
    filled_qty: str
    filled_avg_price: str | None
    order_class: str
    order_type: str
    type: str
    side: str
    position_intent: str
    time_in_force: str
    limit_price: str | None
    stop_price: str | None
    status: str
    extended_hours: bool = False
    legs: list["Order"] | None
    trail_percent: str | None
    trail_price: str | None
    hwm: str | None
    commission: str = "0"
    source: str | None = None
    subtag: str | None = None

    @classmethod
    def of(cls, order: OrderPublic) -> "Order":
        ended_at = ts(order.updated_at)
        return cls(
            id=order.id,
            client_order_id=order.client_order_id or str(order.id),  # an order placed on /api without one
            created_at=ts(order.created_at),
            updated_at=ts(order.updated_at),
            submitted_at=ts(order.created_at),
            filled_at=ts(order.filled_at),
            expired_at=ended_at if order.status == "expired" else None,
            expires_at=ts(order.expires_at),
            canceled_at=ended_at if order.status == "canceled" else None,
            failed_at=ended_at if order.status == "rejected" else None,
            asset_id=asset_id(order.symbol),
            symbol=order.symbol,
            qty=text(order.quantity),
            filled_qty=text(order.filled_quantity),
            filled_avg_price=text(order.avg_fill_price),
            order_type=order.order_type,
            type=order.order_type,
            side=order.side,
            position_intent="buy_to_open" if order.side == "buy" else "sell_to_close",
            time_in_force=order.time_in_force,
            limit_price=text(order.limit_price),
            stop_price=text(order.stop_price),
            status=order_status(order.status, order.filled_quantity),
            order_class=order.order_class,
            notional=text(order.notional),
            trail_percent=text(order.trail_percent),
            trail_price=text(order.trail_price),
            hwm=text(order.high_water_mark),
            legs=[cls.of(leg) for leg in order.legs] if order.legs else None,
            replaced_at=ended_at if order.status == "replaced" else None,
            replaced_by=order.replaced_by,
            replaces=order.replaces,
        )


def fraction(part: Decimal, whole: Decimal) -> str:
    """A ratio as Alpaca writes its `*_plpc` and `change_today`: a fraction, not a percent ("0.0084")."""
    return text((part / whole).quantize(Decimal("0.000001"))) if whole else "0"


class Position(BaseModel):
    asset_id: uuid.UUID
    symbol: str
    exchange: str = EXCHANGE
    asset_class: str = "us_equity"
    asset_marginable: bool = False
    avg_entry_price: str
    qty: str
    qty_available: str
    side: str = "long"  # no short selling in Sherwood
    market_value: str
    cost_basis: str
    unrealized_pl: str
    unrealized_plpc: str
    unrealized_intraday_pl: str
    unrealized_intraday_plpc: str
    current_price: str | None
    lastday_price: str | None
    change_today: str
    avg_entry_swap_rate: str | None = None
    swap_rate: str | None = None
    usd: dict | None = None
