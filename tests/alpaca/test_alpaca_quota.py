"""/alpaca calls count against the same per-user API quota as /api calls, and the refusal is Alpaca's 429."""

import httpx

from tests.alpaca.conftest import sign_up
from tests.support.server import running_app

LIMIT = 4


def test_alpaca_and_api_calls_share_one_quota_refused_in_alpacas_shape(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'quota.db'}", "API_RATE_LIMIT": str(LIMIT)}
    with running_app(tmp_path / "app.log", **env) as url:
        trader = sign_up(url)  # its calls to /api (login, keys) counted against its address
        assert httpx.get(f"{url}/api/portfolio", headers=trader.key).status_code == 200
        answers = [httpx.get(f"{url}/alpaca/v2/clock", headers=trader.key) for _ in range(LIMIT)]
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429]
    refused = answers[-1]
    assert refused.json() == {"code": 42910000, "message": "rate limit exceeded"}
    assert 0 < int(refused.headers["Retry-After"]) <= 60 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert answers[0].headers["X-RateLimit-Limit"] == str(LIMIT)
