"""Domain errors: every rule the services enforce fails with one of these, carrying the contract's code."""

from typing import Any

import psycopg
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# The database cannot answer now (down, restarting, every connection busy): the caller should retry. Placements
# reach PostgreSQL through psycopg directly, everything else through SQLAlchemy.
UNAVAILABLE = (OperationalError, PoolTimeoutError, psycopg.OperationalError)
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; please retry."
INTERNAL_MESSAGE = "Something went wrong on our side. Please retry."


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.headers = headers  # extra response headers, such as a rate limit's X-RateLimit-*
