"""The one store every change of money goes through: SQLAlchemy Core statements in one transaction, on both databases.

A change reads its rows locked, the account row always first (so changes of one account queue behind each other
and never deadlock), in one batch; the rules decide on plain models loaded from those rows; the store writes back
what the decision changed (an UPDATE of the changed columns, an INSERT of new rows, a DELETE) with the commit, in a
second batch. On PostgreSQL both batches go from the event loop (services.pg_async: one round trip each). On the
embedded SQLite file each batch runs in a worker thread, and this process's transactions take turns (SQLite has
one writer anyway), so no worker thread ever waits on a lock another coroutine holds.
"""

import asyncio
import operator
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from anyio import CancelScope, to_thread
from sqlalchemy import Engine, Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.base import manager_of_class
from sqlmodel import SQLModel

from services.infra.pg_async import AsyncPostgres, Statement

Row = TypeVar("Row", bound=SQLModel)


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def _key_of(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.primary_key.columns)


def _by_key(table: Table):
    """WHERE the primary key equals the `pk_<column>` parameters (apart from the columns being set)."""
    return and_(*(table.c[name] == bindparam(f"pk_{name}") for name in _key_of(table)))


class _Statements:
    """The statements of one table, built once."""

    def __init__(self, model: type[SQLModel]):
        configure_mappers()  # a bare instance's attributes work once the mappers are (a constructor sees to it)
        table = _table(model)
        self.columns = tuple(column.name for column in table.columns)
        self.values = operator.attrgetter(*self.columns)  # a row's values, in the columns' order, in one call
        self.new_instance = manager_of_class(model).new_instance  # a bare instance, as the ORM makes when loading
        self.key = _key_of(table)
        self.lock = select(*table.columns).where(_by_key(table)).with_for_update()
        self.update = update(table).where(_by_key(table))
        self.insert = insert(table)
        self.delete = delete(table).where(_by_key(table))


_statements: dict[type, _Statements] = {}


def statements_of(model: type[SQLModel]) -> _Statements:
    found = _statements.get(model)
    if found is None:
        found = _statements[model] = _Statements(model)
    return found


def lock(model: type[SQLModel], **key: Any) -> Statement:
    """Read one row by its primary key, locked for the rest of the transaction."""
    return statements_of(model).lock, {f"pk_{name}": value for name, value in key.items()}


class _Batches(Protocol):
    async def read(self, statements: Sequence[Statement]) -> list[list[tuple]]: ...

    async def commit(self, statements: Sequence[Statement]) -> None: ...


class Transaction:
    """One change of money: locked reads, then the writes with the commit. Rolled back unless committed."""

    def __init__(self, batches: _Batches):
        self._batches = batches
        self._loaded: list[tuple[SQLModel, tuple]] = []  # (row, its values as read)
        self._inserted: list[SQLModel] = []
        self._deleted: list[SQLModel] = []

    async def read(self, statements: Sequence[Statement]) -> list[list[tuple]]:
        """Every row of each statement, in one batch."""
        return await self._batches.read(statements)

    def load(self, model: type[Row], row: tuple | None) -> Row | None:
        """A model made from a row as read (every column, in the table's order); what the decision then changes in
        it is written back at the commit. Filled as the ORM fills what it loads, from a bare instance: even the
        models' own constructor (models.row), with its init events and defaults, cost 0.05 ms more per placement."""
        if row is None:
            return None
        table = statements_of(model)
        loaded = table.new_instance()
        loaded.__dict__.update(zip(table.columns, row, strict=True))
        self._loaded.append((loaded, row))
        return loaded

    def add(self, row: SQLModel) -> None:
        self._inserted.append(row)

    def remove(self, row: SQLModel) -> None:
        self._deleted.append(row)

    @staticmethod
    def _values(row: SQLModel) -> tuple:
        return statements_of(type(row)).values(row)

    def _writes(self) -> list[Statement]:
        # New rows first, in the order given (an order before the ledger entry and idempotency record that refer
        # to it), then changes, then deletions.
        writes: list[Statement] = []
        for row in self._inserted:
            table = statements_of(type(row))
            values = dict(zip(table.columns, table.values(row), strict=True))
            if values.get("id", 0) is None:  # an autoincrement id the database gives
                del values["id"]
            writes.append((statements_of(type(row)).insert, values))
        for row, before in self._loaded:
            if any(row is gone for gone in self._deleted):
                continue
            table = statements_of(type(row))
            changed = {
                name: now
                for name, was, now in zip(table.columns, before, self._values(row), strict=True)
                if now != was and name not in table.key
            }
            if changed:
                writes.append((table.update, {**changed, **self._key(row)}))
        for row in self._deleted:
            writes.append((statements_of(type(row)).delete, self._key(row)))
        return writes

    @staticmethod
    def _key(row: SQLModel) -> dict[str, Any]:
        return {f"pk_{name}": getattr(row, name) for name in statements_of(type(row)).key}

    async def commit(self) -> None:
        await self._batches.commit(self._writes())


class _Postgres:
    def __init__(self, tx):
        self._tx = tx

    async def read(self, statements: Sequence[Statement]) -> list[list[tuple]]:
        return await self._tx.rows(statements)

    async def commit(self, statements: Sequence[Statement]) -> None:
        await self._tx.commit(statements)


class _Blocking:
    def __init__(self, connection: Connection):
        self._connection = connection

    def _read(self, statements: Sequence[Statement]) -> list[list[tuple]]:
        return [list(self._connection.execute(statement, values).all()) for statement, values in statements]

    def _commit(self, statements: Sequence[Statement]) -> None:
        for statement, values in statements:
            self._connection.execute(statement, values)
        self._connection.commit()

    async def read(self, statements: Sequence[Statement]) -> list[list[tuple]]:
        return await to_thread.run_sync(self._read, statements)

    async def commit(self, statements: Sequence[Statement]) -> None:
        await to_thread.run_sync(self._commit, statements)


class Store:
    """Where changes of money are applied: PostgreSQL from the event loop, or the SQLite file through threads."""

    def __init__(self, engine: Engine, pg: AsyncPostgres | None):
        self._engine, self._pg = engine, pg
        self._sqlite_turn = asyncio.Lock() if pg is None else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        if self._pg is not None:
            async with self._pg.transaction() as tx:
                yield Transaction(_Postgres(tx))
            return
        async with self._sqlite_turn:
            connection = await to_thread.run_sync(self._engine.connect)
            try:
                yield Transaction(_Blocking(connection))
            finally:  # shielded: a cancelled request must still close (and roll back) before the next turn
                with CancelScope(shield=True):
                    await to_thread.run_sync(connection.close)  # rolls back what was not committed
