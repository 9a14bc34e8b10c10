"""The symbols a user watches."""
