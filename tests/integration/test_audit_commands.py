"""`python -m cli reconcile / backup / restore` against real databases, the way an operator runs them."""

import asyncio
import subprocess
import sys
import uuid
from decimal import Decimal

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, quote, random_email
from tests.support.server import ROOT, app_env, running_app
from tests.support.ws import Tape


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = app_env(DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def trade_through_the_app(base: str, database_url: str) -> tuple[str, int]:
    """A user who buys at the market, sells part, and leaves a limit buy and a limit sell resting; returns
    (the user's account id, orders placed)."""

    async def publish():
        tape = Tape(database_url)
        await tape.publish(quote("AAPL", "150.00", bid="149.99", ask="150.01"))
        await tape.close()

    asyncio.run(publish())
    email = random_email()
    httpx.post(f"{base}/api/auth/register", json={"email": email, "password": PASSWORD})
    token = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    orders = [
        {"side": "buy", "orderType": "market", "quantity": "10"},
        {"side": "sell", "orderType": "market", "quantity": "2.5"},
        {"side": "buy", "orderType": "limit", "quantity": "3", "limitPrice": "100.00"},
        {"side": "sell", "orderType": "limit", "quantity": "1", "limitPrice": "400.00"},
    ]
    for order in orders:
        answer = httpx.post(
            f"{base}/api/orders",
            json={"symbol": "AAPL", **order},
            headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text
    (account,) = httpx.get(f"{base}/api/accounts", headers=headers).json()["accounts"]
    return account["id"], len(orders)


def test_a_backup_restored_into_a_fresh_database_reconciles(tmp_path):
    """Orders placed through a real app on PostgreSQL; `backup`, then the source database is wrecked (the
    ledger emptied, which `reconcile` reports); `restore` into a brand-new database brings back every row, and
    `reconcile` finds it clean; restored over the wrecked database, the snapshot replaces it, clean again."""
    with fresh_postgres("backup_src") as source, fresh_postgres("backup_dst") as target:
        with running_app(tmp_path / "app.log", DATABASE_URL=source, REDIS_URL=REDIS_URL) as base:
            account_id, placed = trade_through_the_app(base, source)
        assert cli(source, "reconcile").returncode == 0
        dump = tmp_path / "sherwood.dump"
        done = cli(source, "backup", str(dump))
        assert done.returncode == 0, done.stderr
        assert dump.stat().st_size > 0

        with psycopg.connect(libpq(source), autocommit=True) as wreck:
            wreck.execute("TRUNCATE cash_ledger")
        wrecked = cli(source, "reconcile")
        assert wrecked.returncode == 1 and "cash_vs_ledger" in wrecked.stdout

        done = cli(target, "restore", str(dump))
        assert done.returncode == 0, done.stderr
        clean = cli(target, "reconcile")
        assert clean.returncode == 0, clean.stdout
        assert "All 1 accounts reconcile" in clean.stdout
        with psycopg.connect(libpq(target)) as restored:
            counts = restored.execute(
                "SELECT (SELECT count(*) FROM orders WHERE account_id = %s),"
                " (SELECT count(*) FROM idempotency_records WHERE account_id = %s),"
                " (SELECT reserved_cash FROM accounts WHERE id = %s)",
                (account_id, account_id, account_id),
            ).fetchone()
        assert counts == (placed, placed, Decimal("300.00"))

        # The same snapshot restored over the wrecked database (rows in every table) replaces it.
        done = cli(source, "restore", str(dump))
        assert done.returncode == 0, done.stderr
        assert cli(source, "reconcile").returncode == 0


def test_reconcile_reports_a_tampered_balance(tmp_path):
    """Cash and a position's reservation changed behind the services' back: reconcile names the account, the
    checks that fail with expected and found amounts, and exits 1."""
    with fresh_postgres("tamper") as url:
        with running_app(tmp_path / "app.log", DATABASE_URL=url, REDIS_URL=REDIS_URL) as base:
            account_id, _ = trade_through_the_app(base, url)
            other_id, _ = trade_through_the_app(base, url)
        with psycopg.connect(libpq(url), autocommit=True) as tamper:
            cash = tamper.execute("SELECT cash FROM accounts WHERE id = %s", (account_id,)).fetchone()[0]
            tamper.execute("UPDATE accounts SET cash = cash + 0.01 WHERE id = %s", (account_id,))
            tamper.execute("UPDATE positions SET reserved_quantity = 0 WHERE account_id = %s", (account_id,))
        found = cli(url, "reconcile")
        assert found.returncode == 1
        assert f"account {account_id}" in found.stdout and other_id not in found.stdout
        assert f"cash_vs_ledger: expected {cash}, found {cash + Decimal('0.01')}" in found.stdout
        assert "reserved_quantity AAPL: expected 1.000000, found 0.000000" in found.stdout
        assert "1 of 2 accounts disagree" in found.stdout


def test_sqlite_backup_and_restore(tmp_path):
    """The embedded default: a SQLite database backed up with the sqlite3 API and restored into a new file."""
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with running_app(tmp_path / "app.log", DATABASE_URL=source, STORAGE_SECRET="x") as base:
        email = random_email()
        assert httpx.post(f"{base}/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    assert cli(source, "backup", str(tmp_path / "copy.db")).returncode == 0
    assert cli(target, "restore", str(tmp_path / "copy.db")).returncode == 0
    clean = cli(target, "reconcile")
    assert clean.returncode == 0 and "All 1 accounts reconcile" in clean.stdout
