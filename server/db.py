"""Database engines: PostgreSQL through Piccolo's pool, SQLite through kept-open connections.

Piccolo's shipped SQLiteEngine opens a new connection (and thread) for every query outside a
transaction and for every transaction, which costs ~5 ms each on the target machine against
~0.1 ms for a simple statement (measured). `KeptSQLiteEngine` keeps its
connections open instead, in WAL mode, in three groups:

- *readers*: a few connections for SELECTs outside a transaction, each query on the least busy
  one, so that one slow read does not queue every other behind it;
- one *writer* for writes outside a transaction (a session saved, a challenge): when another
  connection holds the write lock (a sync batch), it waits up to busy_timeout — and only the
  writes wait, never the reads, which WAL lets go on beside a writer;
- idle *transaction* connections, taken by a transaction and given back after its COMMIT or
  ROLLBACK (`PooledSQLiteTransaction`); busy_timeout makes their writers queue;
- one *inline* connection, used by the event loop's own thread for SELECTs outside a
  transaction: a page's indexed read takes ~0.1–0.3 ms in SQLite, and the hop to a reader
  thread and back cost more than the read itself (measured: 0.36 ms inline against 0.75 ms
  through aiosqlite, 1.1 ms with its cursor's three hops). Reads that may take long — a report's
  passes over a year of a province — are made inside `long_reads()` and go to the readers, so
  they never stall the loop (and run beside each other, SQLite releasing the GIL).

Several worker processes may share the file: WAL and the locks are SQLite's, per file.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from server import sqlconv

# Column values converted without Piccolo's wrappers (same values; see server/sqlconv.py).
sqlconv.install()

PRAGMAS = (
    "PRAGMA foreign_keys = 1",
    "PRAGMA synchronous = NORMAL",
    # Reads through a memory map instead of read() calls into SQLite's page cache: a report's
    # pass over a year of a province's visits spent ~25% of its CPU copying pages (measured:
    # 7.8 → 5.8 s of statements). Address space only; WAL and several processes are fine.
    "PRAGMA mmap_size = 1073741824",
    # Room for a write transaction's changed pages (default 2 MiB): a sync batch of 100
    # visits changes a leaf of each of entry's ~14 B-trees per row, ~1,400 pages, which
    # spilled to the WAL mid-transaction (measured on the province dataset: the batch's
    # entry INSERT 15.2 → 13.4 ms of CPU, median of 25; the batch ~10% less CPU in process).
    # An upper bound, not an allocation: reads go through the memory map above.
    "PRAGMA cache_size = -16384",
    # A checkpoint every ~40 MB of WAL instead of every 4 MB (1,000 pages, the default): a
    # sync batch of 100 visits writes ~1,400 pages, so each batch ran a checkpoint of its own,
    # and a checkpoint syncs the database file (WAL with synchronous = NORMAL syncs nothing
    # else). A page changed by several batches between checkpoints is copied back once.
    # Measured on the province dataset, tests.bench.sync_profile, 40 batches, five
    # alternated pairs: wall per batch 64–92 → 35–59 ms, CPU 43–71 → 35–57 ms. The WAL file
    # then stays up to ~40 MB; readers and backups (the backup API) read through it as before.
    "PRAGMA wal_autocheckpoint = 10000",
)
# Read connections kept at most; a few are enough for a process that runs on one core.
READERS = 3
# Idle transaction connections kept at most (more may be open while many transactions run).
IDLE_TRANSACTION_CONNECTIONS = 4

# Set while reads may take long (see `long_reads`): they leave the event loop's thread.
_LONG_READS: ContextVar[bool] = ContextVar("long_reads", default=False)

_FIRST_WORD = re.compile(r"\s*\(*\s*(\w+)")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def is_read(sql: str) -> bool:
    """A statement that only reads (SELECT, or WITH … SELECT without a write in it)."""
    match = _FIRST_WORD.match(sql)
    word = match.group(1).upper() if match else ""
    if word in ("SELECT", "VALUES", "EXPLAIN"):
        return True
    return word == "WITH" and _WRITE_WORD.search(sql) is None


class InlineConnection(sqlite3.Connection):
    """The event loop's own read connection (a class of its own so that tests can count its
    statements as they count aiosqlite's)."""


@contextmanager
def long_reads() -> Iterator[None]:
    """Reads made inside may take long (a report's passes): on SQLite they run on reader
    threads, not on the event loop's thread, so other requests go on meanwhile. Tasks started
    inside (asyncio.gather) inherit it."""
    token = _LONG_READS.set(True)
    try:
        yield
    finally:
        _LONG_READS.reset(token)


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a connection borrowed from the engine and given back afterwards."""

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.engine._take_transaction_connection()  # type: ignore[attr-defined]

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        # Write transactions of this process queue on a lock of its own before BEGIN
        # IMMEDIATE: SQLite's busy handler would make them sleep and retry (up to 100 ms a
        # try), which at 32 concurrent person views (each writes its audit row) gave p95 > 1 s.
        self._queued: asyncio.Lock | None = None
        if self.transaction_type != TransactionType.deferred:
            self._queued = self.engine._write_lock()  # type: ignore[attr-defined]
            await self._queued.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            if self._queued is not None:
                self._queued.release()
            raise

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        healthy = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            healthy = True
        finally:
            self.engine.current_transaction.reset(self.context)
            try:
                await self.engine._give_back(self.connection,  # type: ignore[attr-defined]
                                             healthy)
            finally:
                if self._queued is not None:
                    self._queued.release()
        return exception is None


class KeptSQLiteEngine(SQLiteEngine):
    """SQLiteEngine whose queries run on long-lived connections (see the module's docstring).

    aiosqlite runs a connection's statements on its own thread and answers each call on the
    caller's event loop, so the kept connections serve every loop and thread of the process.
    """

    def __init__(self, path: str, busy_timeout_ms: int = 10000, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=busy_timeout_ms / 1000, **kwargs)
        self._readers: list[aiosqlite.Connection] = []
        self._in_flight: dict[int, int] = {}
        self._opening_readers = 0
        self._writer: aiosqlite.Connection | None = None
        self._idle: list[aiosqlite.Connection] = []
        self._timeouts: dict[int, int] = {}
        self._write_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = \
            weakref.WeakKeyDictionary()
        self._inline: InlineConnection | None = None
        # The inline connection serves one thread at a time (tests run apps in other threads);
        # a read that finds it busy takes a reader instead of waiting.
        self._inline_lock = threading.Lock()
        self._wal_done = False
        # How long a writer waits for another writer's lock before "database is locked".
        # Read when a connection is opened or taken for a transaction, so tests may shorten it.
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
        await self._set_timeout(connection)

    async def _set_timeout(self, connection: aiosqlite.Connection) -> None:
        if self._timeouts.get(id(connection)) != self.busy_timeout_ms:
            await connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            self._timeouts[id(connection)] = self.busy_timeout_ms

    async def get_connection(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await self._configure(connection)
        return connection

    async def _open_kept(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(**self.connection_kwargs)
        # A kept connection is never closed by a context manager: its worker thread must
        # not hold the process open at exit.
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await self._configure(connection)
        return connection

    async def _close(self, connection: aiosqlite.Connection) -> None:
        self._timeouts.pop(id(connection), None)
        self._in_flight.pop(id(connection), None)
        try:
            await connection.close()
        except Exception:  # noqa: BLE001, S110 - a broken connection is dropped all the same
            pass

    # -- reads

    def _inline_connection(self) -> InlineConnection:
        if self._inline is None:
            connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=False,
                                         factory=InlineConnection)
            connection.row_factory = dict_factory
            # Never wait on the loop's thread: a busy file (rare for a read in WAL mode: a
            # recovery, a checkpoint that truncates) sends the read to a reader instead.
            connection.execute("PRAGMA busy_timeout = 0")
            for pragma in PRAGMAS:
                connection.execute(pragma)
            self._inline = connection
        return self._inline

    def _read_inline(self, query: str, args: list[Any]) -> list[dict[str, Any]] | None:
        """The rows of a read made on this thread, or None when the inline connection is busy
        on another thread or the file is busy."""
        if not self._inline_lock.acquire(blocking=False):
            return None
        try:
            return self._inline_connection().execute(query, args).fetchall()
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return None
            raise
        finally:
            self._inline_lock.release()

    async def _reader(self) -> aiosqlite.Connection:
        idle = [c for c in self._readers if not self._in_flight.get(id(c))]
        if idle:
            return idle[0]
        if len(self._readers) + self._opening_readers < READERS:
            self._opening_readers += 1
            try:
                connection = await self._open_kept()
            finally:
                self._opening_readers -= 1
            self._readers.append(connection)
            return connection
        while not self._readers:  # the first ones are still opening
            connection = await self._open_kept()
            self._readers.append(connection)
        return min(self._readers, key=lambda c: self._in_flight.get(id(c), 0))

    # -- transactions

    def _write_lock(self) -> asyncio.Lock:
        """This event loop's lock for write transactions (tests run several loops)."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    async def _take_transaction_connection(self) -> aiosqlite.Connection:
        connection = self._idle.pop() if self._idle else await self._open_kept()
        await self._set_timeout(connection)
        return connection

    async def _give_back(self, connection: aiosqlite.Connection, healthy: bool) -> None:
        if healthy and not connection.in_transaction and \
                len(self._idle) < IDLE_TRANSACTION_CONNECTIONS:
            self._idle.append(connection)
        else:
            await self._close(connection)

    def transaction(self, transaction_type: TransactionType = TransactionType.deferred,
                    allow_nested: bool = True) -> SQLiteTransaction:
        return PooledSQLiteTransaction(engine=self, transaction_type=transaction_type,
                                       allow_nested=allow_nested)

    async def close_kept(self) -> None:
        """Close every kept connection (they open again on the next query)."""
        readers, self._readers = self._readers, []
        writer, self._writer = self._writer, None
        idle, self._idle = self._idle, []
        with self._inline_lock:
            inline, self._inline = self._inline, None
            if inline is not None:
                inline.close()
        for connection in [*readers, *([writer] if writer else []), *idle]:
            await self._close(connection)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if is_read(query):
            if not _LONG_READS.get():
                rows = self._read_inline(query, args or [])
                if rows is not None:
                    return rows
            connection = await self._reader()
            key = id(connection)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            try:
                return await self._run_in_existing_connection(connection, query, args)
            finally:
                if key in self._in_flight:
                    self._in_flight[key] -= 1
        if self._writer is None:
            writer = await self._open_kept()
            if self._writer is None:
                self._writer = writer
            else:  # another task won the race
                await self._close(writer)
        await self._set_timeout(self._writer)
        return await self._run_in_existing_connection(self._writer, query, args)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None,
        query_type: str = "generic", table: Any = None,
    ) -> Any:
        # One hop to the connection's thread (execute and fetch together), not three.
        return await connection.execute_fetchall(query, args or [])


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


async def keep_session(connection: Any) -> None:
    """The pool's reset of a PostgreSQL connection given back: nothing beyond asyncpg's own.

    asyncpg rolls back a transaction left open and drops listeners before calling this
    (`Connection._reset`); its default reset then sends `SELECT pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL` — a second round trip after every statement run outside a
    transaction (measured: 0.50–0.93 → 0.33–0.50 ms wall, 0.28–0.40 → 0.19–0.22 ms CPU per
    `SELECT 1` through the pool). The app leaves no session state to undo: its advisory locks
    are transaction-scoped (`pg_advisory_xact_lock`), it never LISTENs, SETs a session
    setting or keeps a cursor outside a transaction (`tests/test_pg_pool.py` reads the code
    for such statements and checks a connection comes back clean)."""


@asynccontextmanager
async def db_lifespan(app: Any):  # noqa: ANN201 - Litestar lifespan
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20, reset=keep_session)
    try:
        yield
    finally:
        if isinstance(engine, PostgresEngine):
            await engine.close_connection_pool()
        elif isinstance(engine, KeptSQLiteEngine):
            await engine.close_kept()
