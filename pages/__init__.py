"""Importing this package registers every page with NiceGUI."""

from pages import home, login, orders, stock

__all__ = ["home", "login", "orders", "stock"]
