"""Tolerant reading of what Alpaca clients put in query strings: `True`/`False` booleans (Python's str(bool)),
RFC 3339 times with `Z` or an offset (naive ones are UTC) or plain dates, comma-joined lists."""

from datetime import UTC, date, datetime, time

from api.alpaca.errors import invalid
from services.market.clock import NEW_YORK


def flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise invalid(f"invalid boolean: {value}")


def moment(value: str | None, name: str) -> datetime | None:
    """A time as clients send it; a plain date is its New York midnight (the start of that trading day)."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=NEW_YORK).astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in value else value)
    except ValueError:
        raise invalid(f"invalid {name}: {value}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def day(value: str | None, name: str) -> date | None:
    """A date as clients send it (YYYY-MM-DD, or a time whose New York date it is)."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise invalid(f"invalid {name}: {value}") from None
    found = moment(value, name)
    return found.astimezone(NEW_YORK).date() if found is not None else None


def names(value: str | None) -> list[str]:
    """A comma-joined list, upper-cased symbols, without blanks or repeats."""
    if not value:
        return []
    return list(dict.fromkeys(part.strip().upper() for part in value.split(",") if part.strip()))
