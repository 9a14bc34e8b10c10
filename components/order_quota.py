"""What the order form says of the placement quota (ORDER_RATE_LIMIT orders a minute per user): how many orders
are left once the user is within a tenth of it, and when the window starts again. Pure."""

from services.infra.rate_limits import Quota

NEAR = 0.1  # within this share of the limit, the form says how many orders are left


def _seconds(seconds: int) -> str:
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def _orders(count: int) -> str:
    return "1 order" if count == 1 else f"{count} orders"


def quota_note(quota: Quota | None) -> str | None:
    """ "2 orders left this minute; the count starts again in 41 seconds.", or None while far from the limit."""
    if quota is None or quota.remaining > quota.limit * NEAR:
        return None
    if quota.remaining == 0:
        return limit_reached(quota.limit, quota.reset)
    return f"{_orders(quota.remaining)} left this minute; the count starts again in {_seconds(quota.reset)}."


def limit_reached(limit: int, retry_after: int) -> str:
    """The refusal of an order past the limit, in plain words."""
    return (
        f"You have placed the most orders allowed in a minute ({limit}). "
        f"You can place orders again in {_seconds(retry_after)}."
    )
