"""alpaca-py's TradingClient against Sherwood: account, clock, calendar and assets, the credentials it accepts,
and Alpaca's error bodies."""

import uuid
from datetime import date, timedelta

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AccountStatus, AssetClass, AssetStatus
from alpaca.trading.requests import GetAssetsRequest, GetCalendarRequest

from tests.alpaca.conftest import sign_up


def client(sherwood, trader) -> TradingClient:
    return TradingClient(trader.key_id, trader.secret, paper=True, url_override=sherwood.alpaca)


def test_get_account_is_a_cash_account_with_the_starting_cash(sherwood, trader):
    account = client(sherwood, trader).get_account()
    assert str(account.id) == trader.account_id
    assert account.status == AccountStatus.ACTIVE
    assert account.cash == "100000" and account.buying_power == "100000" and account.equity == "100000"
    assert account.multiplier == "1" and account.shorting_enabled is False
    assert account.portfolio_value == account.equity and account.long_market_value == "0"
    assert account.currency == "USD" and account.account_number.startswith("PA")


def test_a_session_token_as_bearer_acts_on_the_default_account(sherwood, trader):
    by_token = TradingClient(oauth_token=trader.token, url_override=sherwood.alpaca).get_account()
    assert str(by_token.id) == trader.account_id


def test_bad_credentials_are_401_in_alpacas_shape(sherwood, trader):
    wrong = TradingClient(trader.key_id, "x" * 40, url_override=sherwood.alpaca)
    with pytest.raises(APIError) as raised:
        wrong.get_account()
    assert raised.value.status_code == 401 and raised.value.code == 40110000
    bare = httpx.get(f"{sherwood.alpaca}/v2/account")
    assert (bare.status_code, bare.text) == (401, '{"code":40110000,"message":"request is not authorized"}')


def test_the_clock_is_always_open_around_the_clock(sherwood, trader):
    clock = client(sherwood, trader).get_clock()
    assert clock.is_open is True
    assert clock.timestamp <= clock.next_close and clock.next_open == clock.next_close  # midnight, New York
    assert clock.next_close - clock.timestamp <= timedelta(days=1)
    assert clock.timestamp.utcoffset() in (timedelta(hours=-4), timedelta(hours=-5))


def test_the_calendar_lists_every_day_from_midnight_to_2359(sherwood, trader):
    days = client(sherwood, trader).get_calendar(GetCalendarRequest(start=date(2024, 7, 1), end=date(2024, 7, 7)))
    assert [d.date for d in days] == [date(2024, 7, d) for d in range(1, 8)]
    assert (days[0].open.hour, days[0].open.minute, days[0].close.hour, days[0].close.minute) == (0, 0, 23, 59)
    raw = httpx.get(f"{sherwood.alpaca}/v2/calendar?start=2024-07-04&end=2024-07-04", headers=trader.key).json()
    assert raw == [
        {
            "date": "2024-07-04",
            "open": "00:00",
            "close": "23:59",
            "session_open": "0000",
            "session_close": "2359",
            "settlement_date": "2024-07-05",
        }
    ]


def test_assets_are_the_listed_symbols_with_stable_ids(sherwood, trader):
    trading = client(sherwood, trader)
    assets = trading.get_all_assets(GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY))
    by_symbol = {a.symbol: a for a in assets}
    assert "AAPL" in by_symbol and all(a.tradable and a.fractionable for a in assets)
    apple = trading.get_asset("AAPL")
    assert apple == by_symbol["AAPL"] and apple.name == "Apple Inc."
    assert trading.get_asset(apple.id) == apple  # by its id, which another account sees the same
    other = sign_up(sherwood.url)
    assert client(sherwood, other).get_asset("aapl").id == apple.id
    assert trading.get_all_assets(GetAssetsRequest(status=AssetStatus.INACTIVE)) == []


def test_an_unknown_asset_or_path_is_404_in_alpacas_shape(sherwood, trader):
    with pytest.raises(APIError) as raised:
        client(sherwood, trader).get_asset("NOPE")
    assert raised.value.status_code == 404
    assert str(raised.value) == '{"code":40410000,"message":"asset not found for NOPE"}'
    missing = httpx.get(f"{sherwood.alpaca}/v2/nothing-here", headers=trader.key)
    assert missing.status_code == 404 and missing.json()["code"] == 40410000
    assert httpx.get(f"{sherwood.alpaca}/v2/assets/{uuid.uuid4()}", headers=trader.key).status_code == 404
    newline = httpx.get(f"{sherwood.alpaca}/v2/stocks/%0A/bars", headers=trader.key)  # past the mount's reach
    assert newline.status_code == 404 and newline.json()["code"] == 40410000


def test_common_url_mistakes_still_reach_the_api_without_redirects(sherwood, trader):
    for base in (f"{sherwood.alpaca}/", f"{sherwood.alpaca}/v2"):
        account = TradingClient(trader.key_id, trader.secret, url_override=base).get_account()
        assert str(account.id) == trader.account_id
    slash = httpx.get(f"{sherwood.alpaca}/v2/account/", headers=trader.key)
    assert slash.status_code == 404 and not slash.is_redirect


def test_nyse_calendar_days_have_alpacas_hours_and_early_closes():
    from api.alpaca.calendar import _calendar_day
    from services.market.clock import NyseSessions

    nyse = NyseSessions()
    assert _calendar_day(nyse, date(2024, 7, 3)).model_dump() == {
        "date": "2024-07-03",
        "open": "09:30",
        "close": "13:00",
        "session_open": "0930",
        "session_close": "1300",
        "settlement_date": "2024-07-05",  # the 4th is a holiday
    }
    assert not nyse.trades_on(date(2024, 7, 4)) and _calendar_day(nyse, date(2024, 7, 5)).close == "16:00"


def test_the_account_configuration_is_a_fixed_cash_one(sherwood, trader):
    trading = client(sherwood, trader)
    config = trading.get_account_configurations()
    assert (config.no_shorting, config.fractional_trading, config.max_margin_multiplier) == (True, True, "1")
    config.trade_confirm_email = "all"
    assert trading.set_account_configurations(config).trade_confirm_email == "none"


def test_a_body_over_64_kib_is_413_in_alpacas_shape(sherwood, trader):
    big = b"{" + b" " * (65 * 1024) + b"}"
    answer = httpx.post(
        f"{sherwood.alpaca}/v2/orders", content=big, headers={**trader.key, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json()["code"] == 41310000
