"""Domain errors: every rule the services enforce fails with one of these, carrying the contract's code."""

from typing import Any


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
