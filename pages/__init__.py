"""Importing this package registers every page with NiceGUI."""

from pages import account, alerts, home, login, orders, stock

__all__ = ["account", "alerts", "home", "login", "orders", "stock"]
