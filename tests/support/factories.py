"""Small helpers for making test data."""

import secrets


def random_email() -> str:
    return f"trader-{secrets.token_hex(6)}@example.com"


PASSWORD = "correct horse battery"
