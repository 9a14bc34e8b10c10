"""PostgreSQL straight from the event loop, for the path where every round trip and thread hop shows: placing orders.

The statements stay SQLAlchemy Core (the same objects the blocking path runs), compiled once for psycopg with their
columns' bind processors kept. A transaction runs in pipeline mode: statements that do not wait on each other's
answers travel together, so a placement takes two round trips (the locked reads; the writes with the commit)
instead of one per statement, and no worker thread.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable

POOL_SIZE = 16  # connections at most; a placement holds one for two round trips
POOL_TIMEOUT = 10  # seconds to wait for a connection before answering 503, as the blocking pool does

_DIALECT = psycopg_dialect()
Statement = tuple[Executable, dict[str, Any]]


class _Compiled:
    def __init__(self, statement: Executable, keys: tuple[str, ...]):
        compiled = statement.compile(dialect=_DIALECT, column_keys=list(keys))
        self.sql = str(compiled)
        # The column types' checks and conversions (a Decimal with too many places is refused, not rounded), as
        # the dialect applies them: the type's own bind_processor would fall back to the generic Numeric's,
        # which hands psycopg floats.
        self.processors: dict[str, Callable] = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)) is not None
        }

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: (self.processors[name](v) if name in self.processors else v) for name, v in values.items()}


_compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}


def _compile(statement: Executable, values: dict[str, Any]) -> _Compiled:
    """Statements are module-level constants, so their compiled forms are kept for the life of the process."""
    key = (id(statement), tuple(values))
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _Compiled(statement, tuple(values))
    return found


class Transaction:
    """One transaction on one connection in pipeline mode."""

    def __init__(self, conn: psycopg.AsyncConnection):
        self._conn = conn

    async def first_rows(self, statements: Sequence[Statement]) -> list[tuple | None]:
        """Each statement's first row (None when it has none), sent together in one round trip."""
        cursors = []
        for statement, values in statements:
            compiled = _compile(statement, values)
            cursors.append(await self._conn.execute(compiled.sql, compiled.params(values)))
        return [await cursor.fetchone() for cursor in cursors]

    async def commit(self, statements: Sequence[Statement]) -> None:
        """Run the statements and commit, together in one round trip."""
        for statement, values in statements:
            compiled = _compile(statement, values)
            await self._conn.execute(compiled.sql, compiled.params(values))
        await self._conn.commit()


class AsyncPostgres:
    def __init__(self, database_url: str):
        conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=2,
            max_size=POOL_SIZE,
            timeout=POOL_TIMEOUT,
            kwargs={"connect_timeout": 5},
            open=False,
        )

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Rolled back unless committed (a refused order, an error); a broken connection leaves the pool."""
        async with self._pool.connection() as conn, conn.pipeline():
            yield Transaction(conn)
