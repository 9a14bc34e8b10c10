"""The order form's words for the placement quota: silent far from the limit, counting down near it."""

import pytest

from components.order_quota import limit_reached, quota_note
from services.infra.rate_limits import Quota


@pytest.mark.parametrize(
    ("quota", "said"),
    [
        (None, None),
        (Quota(limit=600, remaining=61, reset=30), None),
        (Quota(limit=600, remaining=60, reset=30), "60 orders left this minute; the count starts again in 30 seconds."),
        (Quota(limit=20, remaining=1, reset=1), "1 order left this minute; the count starts again in 1 second."),
        (Quota(limit=5, remaining=1, reset=12), None),  # a tenth of 5 is half an order
        (
            Quota(limit=20, remaining=0, reset=9),
            "You have placed the most orders allowed in a minute (20). You can place orders again in 9 seconds.",
        ),
    ],
)
def test_quota_note(quota, said):
    assert quota_note(quota) == said


def test_limit_reached():
    assert limit_reached(600, 1).endswith("You can place orders again in 1 second.")
