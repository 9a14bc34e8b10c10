"""PostgreSQL straight from the event loop, for the path where every round trip and thread hop shows: money.

The statements stay SQLAlchemy Core (the same objects the blocking path runs), compiled once for psycopg with the
columns' bind processors kept. A placement sends two batches, the locked reads and then the writes with the
commit, each one round trip and one wait on the socket, and needs no worker thread. (psycopg's pipeline mode also
sends statements together, but waits on the socket once per statement: it cost about 10 % more CPU per order.)
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable

POOL_SIZE = 16  # connections at most; a placement holds one for two round trips
POOL_TIMEOUT = 10  # seconds to wait for a connection before answering 503, as the blocking pool does

_DIALECT = psycopg_dialect()
_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
Statement = tuple[Executable, dict[str, Any]]


class _Compiled:
    def __init__(self, statement: Executable, keys: tuple[str, ...]):
        compiled = statement.compile(dialect=_DIALECT, column_keys=list(keys))
        self.sql = str(compiled)
        # The column types' checks and conversions (a Decimal with too many places is refused, not rounded), as
        # the dialect applies them: the type's own bind_processor would fall back to the generic Numeric's,
        # which hands psycopg floats.
        # Values written into the statement itself (`status == 'pending'`), bound like the caller's.
        self.literals = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
        self.processors: dict[str, Callable] = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)) is not None
        }

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        given = {**self.literals, **values}
        return {name: (self.processors[name](v) if name in self.processors else v) for name, v in given.items()}


_compiled: dict[tuple[Executable, tuple[str, ...]], _Compiled] = {}


def _compile(statement: Executable, values: dict[str, Any]) -> _Compiled:
    """Statements are module-level constants, so their compiled forms are kept for the life of the process."""
    key = (statement, tuple(values))
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _Compiled(statement, tuple(values))
    return found


class Transaction:
    """One transaction on one connection, its statements sent a batch at a time: each batch is one simple query
    of several statements (values bound client-side by psycopg's adapters), so it costs one round trip and one
    wait on the socket, however many statements it holds."""

    def __init__(self, conn: psycopg.AsyncConnection):
        self._cursor = psycopg.AsyncClientCursor(conn)

    def _batch(self, statements: Sequence[Statement]) -> str:
        sql = []
        for statement, values in statements:
            compiled = _compile(statement, values)
            sql.append(self._cursor.mogrify(compiled.sql, compiled.params(values)))
        return ";\n".join(sql)

    async def rows(self, statements: Sequence[Statement]) -> list[list[tuple]]:
        """Begin, and each statement's rows."""
        await self._cursor.execute("BEGIN;\n" + self._batch(statements))
        rows = []
        while self._cursor.nextset():
            rows.append(await self._cursor.fetchall())
        return rows

    async def commit(self, statements: Sequence[Statement]) -> None:
        """Run the statements and commit."""
        await self._cursor.execute(self._batch(statements) + ";\nCOMMIT" if statements else "COMMIT")


class AsyncPostgres:
    def __init__(self, database_url: str):
        conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=2,
            max_size=POOL_SIZE,
            timeout=POOL_TIMEOUT,
            # Transactions begin and commit inside the batches, not in round trips of their own.
            kwargs={"connect_timeout": 5, "autocommit": True},
            open=False,
        )

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Rolled back unless committed (a refused order, an error); a broken connection leaves the pool."""
        async with self._pool.connection() as conn:
            try:
                yield Transaction(conn)
            finally:
                # Rolled back here rather than by the pool, which would warn about it on every refused order.
                if conn.info.transaction_status in _OPEN:
                    await conn.execute("ROLLBACK")
