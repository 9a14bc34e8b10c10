"""The newer order kinds in the browser, against an app whose prices the test sets (no simulator): a bracket whose
take-profit is raised, then fills while its stop-loss is canceled; a buy by dollars, then a trailing stop whose stop
follows the price up on the orders page and sells when the price falls back to it."""

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import expect_told, screenshot_path
from tests.e2e.test_trading_journey import sign_up
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.private_servers import Ticker
from tests.support.server import running_app

PRICES = {
    "AAPL": "100.00",
    "MSFT": "100.00",
}  # a symbol per journey  # the Ticker reads this dict: a test moves the market by changing it


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """An app with no market feed of its own, and a ticker keeping the quotes the test sets live on its bus."""
    prices = dict(PRICES)
    log = tmp_path_factory.mktemp("e2e-bracket") / "app.log"
    with fresh_postgres("e2e_bracket") as database:
        env = {"DATABASE_URL": database, "REDIS_URL": REDIS_URL}
        with running_app(log, **env) as url, Ticker(REDIS_URL, database, prices, every=0.2):
            yield url, prices


async def test_a_bracket_buys_then_one_leg_fills_and_the_other_is_canceled(page, market):
    url, prices = market
    await sign_up(page, url)
    await page.goto(f"{url}/stock/AAPL")
    await expect(page.get_by_test_id("last-price")).to_have_text("$100.00")

    await page.get_by_test_id("with-exits").click()
    await page.get_by_test_id("amount").fill("2")
    await page.get_by_test_id("take-profit").fill("99.00")
    await page.get_by_test_id("stop-loss").fill("95.00")
    await page.get_by_test_id("review").click()  # a take-profit under the price is said, no review
    await expect(page.get_by_text("The take-profit must be above your buy price of $100.01.")).to_be_visible()
    await expect(page.get_by_test_id("review-dialog")).to_have_count(0)
    await page.get_by_test_id("take-profit").fill("105.00")
    await page.get_by_test_id("review").click()
    review = page.get_by_test_id("review-dialog")
    await expect(review).to_contain_text("Market order with take-profit and stop-loss, good for day")
    await expect(review).to_contain_text(
        "Once this buy fills, two orders sell its shares: a take-profit at $105.00 or more, and a stop-loss that "
        "becomes a market order when AAPL trades at $95.00 or lower. When one of them fills, the other is canceled."
    )
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order filled: buy 2 AAPL")
    await expect(review).to_have_count(0)

    await page.get_by_role("link", name="Orders").click()
    orders = page.get_by_test_id("all-orders")
    take_profit, stop_loss = orders.locator("tr", has_text="Take-profit"), orders.locator("tr", has_text="Stop-loss")
    await expect(take_profit).to_contain_text("limit $105.00")
    await expect(take_profit).to_contain_text("Pending")
    await expect(stop_loss).to_contain_text("stop $95.00")
    await expect(stop_loss).to_contain_text("Pending")
    await page.screenshot(path=screenshot_path("bracket-orders"))

    await take_profit.get_by_test_id("edit-AAPL").click()  # a higher take-profit: the leg is replaced
    edit = page.get_by_test_id("edit-dialog")
    await expect(edit).to_contain_text("Edit your limit sell of 2 AAPL (limit $105.00)")
    await edit.get_by_test_id("edit-limit").fill("106.00")
    await edit.get_by_test_id("dialog-confirm").click()
    await expect_told(
        page, "Replaced your limit sell of 2 AAPL (limit $105.00) with a limit sell of 2 AAPL (limit $106.00)"
    )
    await expect(edit).to_have_count(0)
    await expect(orders.locator("tr", has_text="limit $105.00")).to_contain_text("Replaced")
    live_take_profit = orders.locator("tr", has_text="limit $106.00")
    await expect(live_take_profit).to_contain_text("Pending")

    prices["AAPL"] = "106.01"  # the bid, $106.00, reaches the take-profit
    await expect_told(page, "Limit sell of 2 AAPL filled at $106.00")
    await expect(live_take_profit).to_contain_text("Filled")
    await expect(stop_loss).to_contain_text("Canceled")  # in the same transaction as the fill
    await expect(orders).not_to_contain_text("Pending")
    await page.screenshot(path=screenshot_path("bracket-filled"))


async def test_dollars_buy_then_a_trailing_stop_follows_the_price_up_and_sells(page, market):
    url, prices = market
    await sign_up(page, url)
    await page.goto(f"{url}/stock/MSFT")
    await expect(page.get_by_test_id("last-price")).to_have_text("$100.00")

    await page.get_by_test_id("unit").get_by_text("Dollars").click()
    await page.get_by_test_id("amount").fill("500")
    await expect(page.get_by_test_id("estimate")).to_have_text("Estimated cost $500.00 for about 4.9995 shares")
    await page.get_by_test_id("review").click()
    review = page.get_by_test_id("review-dialog")
    await expect(review).to_contain_text("Buy $500.00 of MSFT")
    await expect(review).to_contain_text("so it never costs more than $500.00")
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order filled: buy 4.9995 MSFT")  # $500 at the ask of $100.01, to 6 places
    await expect(review).to_have_count(0)

    await page.get_by_test_id("side").get_by_text("Sell MSFT").click()
    await page.get_by_test_id("unit").get_by_text("Shares").click()
    await page.get_by_test_id("order-type").click()
    await page.get_by_role("option", name="Trailing stop", exact=True).click()
    await page.get_by_test_id("amount").fill("4.9995")
    await page.get_by_test_id("trail-unit").get_by_text("%").click()
    await page.get_by_test_id("trail").fill("2")
    await page.get_by_test_id("review").click()
    await expect(review).to_contain_text("The stop starts at $98.00, 2% under MSFT's last price of $100.00.")
    await expect(review).to_contain_text("When MSFT trades at the stop or lower, this becomes a market order to sell")
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order placed: sell 4.9995 MSFT")

    await page.get_by_role("link", name="Orders").click()
    trailing = page.get_by_test_id("all-orders").locator("tr", has_text="Trailing stop")
    await expect(trailing).to_contain_text("stop $98.00, trails 2%, high $100.00")
    prices["MSFT"] = "110.00"  # a new high: the stop follows it, live
    await expect(trailing).to_contain_text("stop $107.80, trails 2%, high $110.00")
    await page.screenshot(path=screenshot_path("trailing-stop"))
    prices["MSFT"] = "107.50"  # back through the stop: it sells at the market, the bid of $107.49
    await expect_told(page, "Trailing stop sell of 4.9995 MSFT filled at $107.49")
    await expect(trailing).to_contain_text("Filled")
