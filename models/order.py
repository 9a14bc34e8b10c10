"""Orders and the idempotency records that make placing one safe to retry."""

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, ValidationError, field_validator, model_validator
from pydantic import Field as PydanticField
from pydantic.alias_generators import to_snake
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field

from models.row import Row
from models.types import QUANTITY, Money, Price, Quantity, UTCDateTime, tick_size, utcnow, values_of
from models.user import CamelModel


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class OrderStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"  # a leg waiting for its entry to fill
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"  # immediate or cancel
    FOK = "fok"  # fill or kill: with whole fills at the top of the book, the same as ioc


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)  # what cannot execute at once is canceled


class Order(Row, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        CheckConstraint("quantity IS NOT NULL OR notional IS NOT NULL", name="ck_orders_quantity_or_notional"),
        CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="ck_orders_filled_within"),
        CheckConstraint("reserved_cash >= 0", name="ck_orders_reserved_nonnegative"),
        CheckConstraint("reserved_quantity >= 0", name="ck_orders_reserved_quantity_nonnegative"),
        CheckConstraint(f"side IN ({values_of(Side)})", name="ck_orders_side"),
        CheckConstraint(f"order_type IN ({values_of(OrderType)})", name="ck_orders_type"),
        CheckConstraint(f"time_in_force IN ({values_of(TimeInForce)})", name="ck_orders_tif"),
        CheckConstraint(f"status IN ({values_of(OrderStatus)})", name="ck_orders_status"),
        CheckConstraint(f"order_class IN ({values_of(OrderClass)})", name="ck_orders_class"),
        Index("ix_orders_account_created", "account_id", "created_at"),
        Index("ix_orders_status_symbol", "status", "symbol"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index("uq_orders_account_client_order_id", "account_id", "client_order_id", unique=True),
        Index("ix_orders_parent", "parent_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    client_order_id: str | None = Field(default=None, max_length=128)  # the client's own name for it
    symbol: str = Field(max_length=10)
    side: str = Field(max_length=4)
    order_type: str = Field(max_length=13)
    quantity: Decimal | None = Field(default=None, sa_type=Quantity())  # None: a notional order not yet filled
    notional: Decimal | None = Field(default=None, sa_type=Money())  # dollars, for a market order by amount
    limit_price: Decimal | None = Field(default=None, sa_type=Price())
    stop_price: Decimal | None = Field(default=None, sa_type=Price())  # a trailing stop's: where it stands now
    trail_price: Decimal | None = Field(default=None, sa_type=Price())
    trail_percent: Decimal | None = Field(default=None, sa_type=Money())
    high_water_mark: Decimal | None = Field(default=None, sa_type=Price())  # a trailing stop's best price (a buy's low)
    time_in_force: str = Field(default="day", max_length=3)
    status: str = Field(default="pending", max_length=10)
    order_class: str = Field(default="simple", max_length=7)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id")  # a leg's entry (an oco: its first)
    replaces: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    replaced_by: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    filled_quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    avg_fill_price: Decimal | None = Field(default=None, sa_type=Price())
    reserved_cash: Decimal = Field(default=Decimal("0"), sa_type=Money())
    reserved_quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())  # shares a sell holds back
    triggered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # a stop that has fired
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # end of its trading day; gtc: never
    reject_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    filled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(Row, table=True):
    """The first answer to an X-Idempotency-Key, written in the same transaction as its order."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    response_status: int
    response_body: str = Field(sa_type=Text)
    order_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def _places(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def plain(value: Decimal) -> str:
    """A decimal as JSON text without exponent or trailing zeros: 10, 0.5, 187.25."""
    return format(value.normalize(), "f")


def price_text(value: Decimal) -> str:
    """A price on its tick grid: 187.25, 0.1234."""
    return format(value.quantize(tick_size(value)), "f")


def cents_text(value: Decimal) -> str:
    """Money (and percentages) with exactly two places: 0.00, -12.50; never "-0.00"."""
    return format(value.quantize(Decimal("0.01")) + 0, "f")


DecimalText = Annotated[Decimal, PlainSerializer(plain, return_type=str)]
MoneyText = Annotated[Decimal, PlainSerializer(cents_text, return_type=str)]
PriceText = Annotated[Decimal, PlainSerializer(price_text, return_type=str)]

MAX_QUANTITY = Decimal("1000000000")
MAX_NOTIONAL = Decimal("1000000000")
MAX_PRICE = Decimal("10000000")
MAX_CLIENT_ORDER_ID = 128


def ticker(symbol: str) -> str:
    """A symbol as typed, upper-cased; ValueError unless it is 1-10 printable characters (after upper-casing,
    which can lengthen: "ß" becomes "SS")."""
    symbol = symbol.strip().upper()
    if not 1 <= len(symbol) <= 10 or not symbol.isprintable():
        raise ValueError("must be 1-10 printable characters")
    return symbol


def on_tick_grid(price: Decimal) -> Decimal:
    """A price with at most 2 places (4 below $1); ValueError otherwise."""
    if _places(price) > _places(tick_size(price)):
        raise ValueError("may have at most 2 decimal places (4 below $1)")
    return price


# Request fields shared by orders and alerts.
Symbol = Annotated[str, PydanticField(min_length=1, max_length=10), AfterValidator(ticker)]
TickPrice = Annotated[Decimal, PydanticField(gt=0, le=MAX_PRICE, allow_inf_nan=False), AfterValidator(on_tick_grid)]


ClientOrderId = Annotated[str, PydanticField(min_length=1, max_length=MAX_CLIENT_ORDER_ID)]


class TakeProfit(CamelModel):
    limit_price: TickPrice


class StopLoss(CamelModel):
    stop_price: TickPrice
    limit_price: TickPrice | None = None


class OrderCreate(CamelModel):
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal | None = PydanticField(None, gt=0, le=MAX_QUANTITY, allow_inf_nan=False)
    notional: Decimal | None = PydanticField(None, ge=1, le=MAX_NOTIONAL, allow_inf_nan=False)
    limit_price: TickPrice | None = None
    stop_price: TickPrice | None = None
    trail_price: TickPrice | None = None
    trail_percent: Decimal | None = PydanticField(None, ge=Decimal("0.1"), le=50, allow_inf_nan=False)
    time_in_force: TimeInForce = TimeInForce.DAY
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    client_order_id: ClientOrderId | None = None

    @field_validator("quantity")
    @classmethod
    def _share_places(cls, quantity: Decimal | None) -> Decimal | None:
        if quantity is not None and _places(quantity) > QUANTITY:
            raise ValueError(f"may have at most {QUANTITY} decimal places")
        return quantity if quantity is None else quantity.normalize()

    @field_validator("notional", "trail_percent")
    @classmethod
    def _two_places(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and _places(value) > 2:
            raise ValueError("may have at most 2 decimal places")
        return value

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> "OrderCreate":
        # Every misfit at once; `field` in the context lets the API name each field although the check spans
        # the model.
        problems = [
            InitErrorDetails(type=PydanticCustomError("order_kind", message, {"field": name}), loc=(), input=name)
            for name, message in _misfits(self)
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def fingerprint(self) -> str:
        """The same order however it was spelled (1 or "1.0"): what an idempotency key is bound to. Fields left
        at their defaults that older orders did not have stay out, so keys used before them still match."""
        dumped = self.model_dump()
        for name in _LATER_FIELDS:
            if dumped[name] is None:
                del dumped[name]
        if dumped["order_class"] == OrderClass.SIMPLE:
            del dumped["order_class"]
        return hashlib.sha256(json.dumps(dumped, default=plain, sort_keys=True).encode()).hexdigest()


_LATER_FIELDS = ("notional", "trail_price", "trail_percent", "take_profit", "stop_loss")
_LIMITED = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_STOPPED = (OrderType.STOP, OrderType.STOP_LIMIT)


def _misfits(order: OrderCreate) -> Iterator[tuple[str, str]]:
    """(field, what is wrong with it) for each field the order's kind does not allow or lacks."""
    kind = order.order_type
    for name, needed in (("limitPrice", kind in _LIMITED), ("stopPrice", kind in _STOPPED)):
        given = getattr(order, to_snake(name)) is not None
        if needed != given:
            yield name, f"{name} {'is required for' if needed else 'is not used by'} {kind} orders"
    if order.notional is not None:
        if order.quantity is not None:
            for name in ("notional", "quantity"):
                yield name, "give one of notional and quantity, not both"
        if kind != OrderType.MARKET:
            yield "notional", "notional is only for market orders"
    elif order.quantity is None:
        yield "quantity", "quantity is required (or notional, for a market order)"
    trails = [name for name in ("trailPrice", "trailPercent") if getattr(order, to_snake(name)) is not None]
    if kind == OrderType.TRAILING_STOP and len(trails) != 1:
        for name in trails or ("trailPrice", "trailPercent"):
            yield name, "a trailing_stop order takes exactly one of trailPrice and trailPercent"
    elif kind != OrderType.TRAILING_STOP:
        for name in trails:
            yield name, f"{name} is not used by {kind} orders"
    if order.time_in_force in IMMEDIATE and kind not in (OrderType.MARKET, OrderType.LIMIT):
        yield "timeInForce", f"timeInForce {order.time_in_force} is only for market and limit orders"
    yield from _class_misfits(order)


def _class_misfits(order: OrderCreate) -> Iterator[tuple[str, str]]:
    """Sherwood sells no shares short: a bracket's or an OTO's entry is a buy of shares its legs then sell; an OCO
    sells shares held, a take-profit limit with a stop-loss leg."""
    cls = order.order_class
    if cls == OrderClass.SIMPLE:
        for name in ("takeProfit", "stopLoss"):
            if getattr(order, to_snake(name)) is not None:
                yield name, f"{name} needs an orderClass of bracket, oto or oco"
        return
    exits = [name for name in ("takeProfit", "stopLoss") if getattr(order, to_snake(name)) is not None]
    if cls == OrderClass.OCO:
        if order.side != Side.SELL:
            yield "side", "an oco order sells shares held"
        if order.order_type != OrderType.LIMIT:
            yield "orderType", "an oco order is the take-profit limit: orderType limit"
        if order.take_profit is not None:
            yield "takeProfit", "an oco order's own limitPrice is its take-profit"
        if order.stop_loss is None:
            yield "stopLoss", "an oco order needs a stopLoss"
        elif order.limit_price is not None and order.stop_loss.stop_price >= order.limit_price:
            yield "stopLoss.stopPrice", "must be below the take-profit's limitPrice"
    else:
        if order.side != Side.BUY:
            yield "side", f"a {cls} entry buys the shares its legs sell: side buy"
        if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            yield "orderType", f"a {cls} entry is a market or limit order"
        if len(exits) != (2 if cls == OrderClass.BRACKET else 1):
            wanted = "both takeProfit and stopLoss" if cls == OrderClass.BRACKET else "one of takeProfit and stopLoss"
            for name in ("takeProfit", "stopLoss"):
                yield name, f"a {cls} order takes {wanted}"
    if order.notional is not None:
        yield "notional", f"a {cls} order is for a quantity of shares"
    if order.time_in_force in IMMEDIATE:
        yield "timeInForce", f"a {cls} order is day or gtc"


class OrderReplace(CamelModel):
    """What PATCH may change in a pending order; the order as changed is checked like a new one."""

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: ClientOrderId | None = None  # the new order's own; unique in the account like any


class OrderPublic(CamelModel):
    id: uuid.UUID
    account_id: uuid.UUID
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    quantity: DecimalText | None
    notional: MoneyText | None
    limit_price: PriceText | None
    stop_price: PriceText | None
    trail_price: PriceText | None
    trail_percent: MoneyText | None
    high_water_mark: PriceText | None
    time_in_force: str
    status: str
    order_class: str
    parent_id: uuid.UUID | None
    legs: list["OrderPublic"] | None = None  # a parent's legs, wherever it is shown; None for any other order
    replaces: uuid.UUID | None
    replaced_by: uuid.UUID | None
    filled_quantity: DecimalText
    avg_fill_price: PriceText | None
    created_at: datetime
    updated_at: datetime
    filled_at: datetime | None
    expires_at: datetime | None
    reject_reason: str | None

    @classmethod
    def of(cls, order: Order, legs: list[Order] | None = None) -> "OrderPublic":
        # From the row's dict, not `from_attributes`, which cost ten times as much (44 µs) on every placement;
        # a column the ORM expired after a commit is read (and loaded) through its attribute.
        held = order.__dict__
        public = cls.model_validate({name: held[name] if name in held else getattr(order, name) for name in _SHOWN})
        if legs:
            public.legs = [cls.of(leg) for leg in legs]
        return public


_SHOWN = tuple(name for name in OrderPublic.model_fields if name != "legs")  # the order's own columns


class OrderEnvelope(CamelModel):
    order: OrderPublic


class OrderList(CamelModel):
    orders: list[OrderPublic]
