"""Importing this package registers every page with NiceGUI."""

from pages import alerts, home, login, orders, stock

__all__ = ["alerts", "home", "login", "orders", "stock"]
