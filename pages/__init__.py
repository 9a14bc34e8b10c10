"""Importing this package registers every page with NiceGUI."""

from pages import home, login

__all__ = ["home", "login"]
