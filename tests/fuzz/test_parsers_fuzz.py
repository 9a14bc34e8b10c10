"""Hypothesis against the parsers that money and orders go through: whatever comes in, the answer is a valid
value or a validation error — never another exception, never a rounded or reinterpreted amount."""

import contextlib
import json
import string
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from api.ws_messages import Command, ProtocolError, parse
from models.order import MAX_PRICE, MAX_QUANTITY, OrderCreate, cents_text, plain, price_text
from models.types import CENTS, PRICE, QUANTITY, ScaledDecimal, tick_size

EXAMPLES = 400

# Numbers as people and scripts spell them: exponents, signs, padding, separators, too many places, junk.
number_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=string.digits + ".-+eE_ ,", max_size=24),
    st.sampled_from(["NaN", "-0", "1e-7", "1E+3", " 1 ", "1_000", "0x10", "1,5", "١٢٣", "", "1." + "0" * 40]),
)
number = st.one_of(number_text, st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.integers()))
order_body = st.fixed_dictionaries(
    {
        "symbol": st.one_of(st.sampled_from(["AAPL", "spy", " msft ", "ß" * 6]), st.text(max_size=12), st.integers()),
        "side": st.sampled_from(["buy", "sell", "BUY", "hold", ""]),
        "orderType": st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing"]),
        "quantity": number,
    },
    optional={
        "limitPrice": number,
        "stopPrice": number,
        "timeInForce": st.sampled_from(["day", "gtc", "ioc"]),
        "userId": st.text(max_size=5),
    },
)


def places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


@settings(max_examples=EXAMPLES, deadline=None)
@given(order_body)
def test_an_order_body_is_a_valid_order_or_a_validation_error(body):
    try:
        order = OrderCreate.model_validate(body)
    except ValidationError:
        return
    assert 0 < order.quantity <= MAX_QUANTITY and places(order.quantity) <= QUANTITY
    assert order.symbol == order.symbol.strip().upper() and 1 <= len(order.symbol) <= 10
    for price in (order.limit_price, order.stop_price):
        if price is not None:
            assert 0 < price <= MAX_PRICE and places(price) <= places(tick_size(price))
    # Spelled another way, it is the same order (what an idempotency key is bound to).
    again = OrderCreate.model_validate_json(order.model_dump_json(by_alias=True))
    assert again == order and again.fingerprint() == order.fingerprint()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_request_bytes_are_an_order_or_a_validation_error(raw):
    with contextlib.suppress(ValidationError):  # the only way to say no: anything else fails this test
        OrderCreate.model_validate_json(raw)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.one_of(
        st.builds(dict, text=st.text(max_size=400)),
        st.builds(dict, bytes=st.binary(max_size=100)),
        st.builds(dict, text=st.recursive(st.none() | st.integers() | st.text(), st.lists).map(json.dumps)),
        st.builds(dict, text=st.dictionaries(st.sampled_from(["type", "symbols", "token"]), st.text()).map(json.dumps)),
        st.just({}),
    )
)
def test_a_websocket_frame_is_a_command_or_a_protocol_error(event):
    try:
        assert isinstance(parse(event), Command)
    except ProtocolError as error:
        assert error.code in {"INVALID_MESSAGE", "UNKNOWN_TYPE", "MESSAGE_TOO_LARGE", "UNKNOWN_SYMBOL"}


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.sampled_from([CENTS, PRICE, QUANTITY]),
    st.decimals(min_value=0, max_value=Decimal("1e12"), allow_nan=False, places=8),
    st.sampled_from([postgresql.dialect(), sqlite.dialect()]),
)
def test_a_column_stores_exactly_or_refuses(scale, value, dialect):
    column = ScaledDecimal(scale)
    if places(value.normalize()) > scale:
        with pytest.raises(ValueError, match="decimal places"):
            column.process_bind_param(value, dialect)
        return
    stored = column.process_bind_param(value, dialect)
    assert column.process_result_value(stored, dialect) == value


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.decimals(min_value=0, max_value=Decimal("1e9"), allow_nan=False, places=4))
def test_amounts_print_as_the_same_number(value):
    assert Decimal(plain(value)) == value
    on_grid = value.quantize(tick_size(value))
    assert Decimal(price_text(on_grid)) == on_grid
    cents = value.quantize(Decimal("0.01"))
    assert Decimal(cents_text(cents)) == cents and len(cents_text(cents).partition(".")[2]) == 2
