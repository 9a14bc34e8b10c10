"""The example bot of the README runs against Sherwood as it is."""

import subprocess
import sys

from tests.support.server import ROOT, app_env


def test_the_example_bot_trades_and_cancels(sherwood, trader):
    sherwood.quote("AAPL", "200.00", "200.10")
    env = app_env(SHERWOOD_URL=sherwood.url, APCA_API_KEY_ID=trader.key_id, APCA_API_SECRET_KEY=trader.secret)
    run = subprocess.run(
        [sys.executable, "examples/alpaca_bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "AAPL: bid 200.0 ask 200.1" in run.stdout and "buy 1 AAPL at 190.09, new" in run.stdout
    assert run.stdout.strip().endswith("canceled: canceled")
