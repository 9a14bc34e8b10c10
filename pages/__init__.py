"""The pages of the UI. `register()` (called once by app.py) tells NiceGUI where each one is served."""

from nicegui import ui

from pages import account, alerts, discover, home, league, leagues, login, orders, stock


def register() -> None:
    ui.page("/account")(account.account_page)
    ui.page("/alerts")(alerts.alerts_page)
    ui.page("/discover")(discover.discover_page)
    ui.page("/")(home.home_page)
    ui.page("/leagues")(leagues.leagues_page)
    ui.page("/leagues/{league_id}")(league.league_page)
    ui.page("/join/{code}")(leagues.join_page)
    ui.page("/login")(login.login_page)
    ui.page("/signup")(login.signup_page)
    ui.page("/logout")(login.logout_page)
    ui.page("/orders")(orders.orders_page)
    ui.page("/stock/{symbol}")(stock.stock_page)
