"""The database engine: PostgreSQL in production, a SQLite file on the embedded default."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from settings import ROOT, ConfigError, Settings

MIGRATION_LOCK = 728_514_001  # pg advisory lock id: instances starting together migrate one at a time
POOL_SIZE = 20  # connections kept open; as many again may be opened for bursts (and closed after)


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        return _sqlite_engine(settings.database_url)
    return create_engine(
        settings.database_url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        # No ping before each checkout (a round trip per request): a connection found dead fails its request
        # with 503 and the pool is refreshed, so the next one succeeds.
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not sqlite3, decide when transactions begin (see the begin hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # sqlite3 would start a transaction only at the first write, so two read-modify-writes could
        # interleave; taking the write lock up front makes every transaction serializable.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_reachable(engine: Engine) -> None:
    """Fail fast, in one sentence, when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = make_url(engine.url).render_as_string(hide_password=True)
        raise ConfigError(f"Cannot reach the database at {where}: {reason}") from None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest migration (or to `revision`, for the upgrade tests)."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by rebuilding it, and dropping the old one fails while other tables' rows
            # refer to it: foreign keys are off while migrating (the pragma is ignored inside a transaction, so
            # it goes first) and checked before the commit.
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK})
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"the migration left a row without what it refers to: {tuple(broken)}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose objects stay readable after commit (services return read models built from them)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
