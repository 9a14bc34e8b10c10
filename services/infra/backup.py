"""Backup and restore of the whole database: pg_dump's custom format on PostgreSQL, the sqlite3 backup API on SQLite.

Both copy a consistent snapshot while the app runs; a restore replaces what the target database holds, so stop
the app instances that use it first.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from settings import ConfigError, Settings


class BackupError(Exception):
    """The dump or restore tool failed; the message says why in the tool's words."""


def backup(settings: Settings, path: Path) -> None:
    """Write a snapshot of the configured database to `path`."""
    if settings.is_sqlite:
        _sqlite_copy(_sqlite_file(settings, must_exist=True), path)
    else:
        _run_pg("pg_dump", settings, "--format=custom", f"--file={path}")


def restore(settings: Settings, path: Path) -> None:
    """Replace the configured database's contents with the snapshot in `path`."""
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    if settings.is_sqlite:
        _sqlite_copy(path, _sqlite_file(settings, must_exist=False))
    else:
        # --clean --if-exists: drop what the snapshot brings back, so a used database restores cleanly too;
        # one transaction: a restore that fails leaves the database as it was.
        _run_pg("pg_restore", settings, "--clean", "--if-exists", "--no-owner", "--single-transaction", str(path))


def _sqlite_file(settings: Settings, *, must_exist: bool) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise ConfigError("An in-memory SQLite database cannot be backed up or restored.")
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupError(f"There is no database at {path}.")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _run_pg(tool: str, settings: Settings, *args: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client).")
    url = make_url(settings.database_url)
    env = {**os.environ, "PGPASSWORD": url.password} if url.password else None  # kept off the command line
    command = [tool, f"--dbname={_libpq_url(url)}", *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip() or f'exit code {result.returncode}'}")


def _libpq_url(url: URL) -> str:
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
