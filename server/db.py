"""Database engines: PostgreSQL through Piccolo's pool, SQLite through a kept-open connection.

Piccolo's shipped SQLiteEngine opens a new connection (and thread) for every query outside a
transaction, which made the embedded default 4-10x slower than it needs to be when
measured. `KeptSQLiteEngine` runs those queries on one long-lived
connection per event loop instead, in WAL mode, and gives transactions their own connection
(WAL lets readers go on while one writer holds the lock; busy_timeout makes writers queue).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory

PRAGMAS = (
    "PRAGMA foreign_keys = 1",
    "PRAGMA synchronous = NORMAL",
)


class KeptSQLiteEngine(SQLiteEngine):
    """SQLiteEngine whose autocommit queries share one long-lived connection.

    aiosqlite runs a connection's statements on its own thread and answers each call on the
    caller's event loop, so one kept connection serves every loop and thread of the process.
    """

    def __init__(self, path: str, busy_timeout_ms: int = 10000, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=busy_timeout_ms / 1000, **kwargs)
        self._kept: aiosqlite.Connection | None = None
        self._wal_done = False
        # How long a writer waits for another writer's lock before "database is locked".
        # Read when a connection opens, so tests may shorten it for the connections after.
        self.busy_timeout_ms = busy_timeout_ms

    async def set_path(self, path: str) -> None:
        """Point the engine at another file (tests copy a migrated template per test)."""
        await self.close_kept()
        self.connection_kwargs["database"] = path
        self._wal_done = False

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file, so that the file alone is the whole database."""
        await self.run_ddl("PRAGMA wal_checkpoint(TRUNCATE)")

    async def _configure(self, connection: aiosqlite.Connection) -> None:
        if not self._wal_done:
            await connection.execute("PRAGMA journal_mode = WAL")
            self._wal_done = True
        for pragma in PRAGMAS:
            await connection.execute(pragma)
        await connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    async def get_connection(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await self._configure(connection)
        return connection

    async def _kept_connection(self) -> aiosqlite.Connection:
        if self._kept is None:
            pending = aiosqlite.connect(**self.connection_kwargs)
            # A kept connection is never closed by a context manager: its worker thread must
            # not hold the process open at exit.
            pending._thread.daemon = True
            connection = await pending
            connection.row_factory = dict_factory  # type: ignore[assignment]
            await self._configure(connection)
            if self._kept is None:
                self._kept = connection
            else:  # another task won the race
                await connection.close()
        return self._kept

    async def close_kept(self) -> None:
        old, self._kept = self._kept, None
        if old is not None:
            await old.close()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        return await self._run_in_existing_connection(await self._kept_connection(), query, args)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None,
        query_type: str = "generic", table: Any = None,
    ) -> Any:
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()


def make_engine(database_url: str, sqlite_path: str,
                busy_timeout_ms: int = 10000) -> PostgresEngine | KeptSQLiteEngine:
    if database_url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": database_url})
    Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return KeptSQLiteEngine(path=sqlite_path, busy_timeout_ms=busy_timeout_ms)


def write_transaction(engine: Any) -> Any:
    """A transaction that takes the write lock at once on SQLite (no upgrade deadlocks)."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


@asynccontextmanager
async def db_lifespan(app: Any):  # noqa: ANN201 - Litestar lifespan
    from piccolo.engine import engine_finder

    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)
    try:
        yield
    finally:
        if isinstance(engine, PostgresEngine):
            await engine.close_connection_pool()
        elif isinstance(engine, KeptSQLiteEngine):
            await engine.close_kept()
