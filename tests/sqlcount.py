"""Counting the SQL statements the app sends to the database, on SQLite and PostgreSQL alike.

`with count_sql() as sql: client.get("/")` then `sql.count` is the number of statements run
while the block was open, whichever thread or event loop ran them (the test client serves the
app on a thread of its own). It wraps the drivers' own execute methods — aiosqlite's
`Connection`/`Cursor`, the SQLite engine's inline `sqlite3` connection (server/db.py) and
asyncpg's `Connection` — for the length of the block, so it sees every statement: Piccolo
queries, `raw`, transactions' BEGIN/COMMIT, executemany batches.

Left out, so that both engines give the same number for the same work: SQLite's per-connection
`PRAGMA`s (Piccolo repeats `PRAGMA foreign_keys` before each statement in a transaction) and
asyncpg's introspection of the server's types (once per new connection). A statement is a
round trip the app asked for; `executemany` counts once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
import asyncpg.connection

from server.db import InlineConnection


class SQLCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self._lock = threading.Lock()

    def add(self, sql: str) -> None:
        text = " ".join(str(sql).split())
        head = text[:16].upper()
        if head.startswith("PRAGMA") or "PG_CATALOG" in text.upper()[:400]:
            return
        with self._lock:
            self.statements.append(text)

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        """The statements, numbered, for an assertion's message."""
        return "\n".join(f"{i + 1:3}. {s[:160]}" for i, s in enumerate(self.statements[:80]))


def _wrap(cls: Any, name: str, counter: SQLCounter, *, only_without_args: bool = False) -> Any:
    original = getattr(cls, name)

    def counted(self: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        # asyncpg's execute with arguments goes on to _execute, which is counted itself.
        if not (only_without_args and args):
            counter.add(sql)
        return original(self, sql, *args, **kwargs)

    setattr(cls, name, counted)
    return original


def _wrap_copy(cls: Any, name: str, counter: SQLCounter) -> Any:
    original = getattr(cls, name)

    def counted(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        counter.add(f"COPY {table_name}")
        return original(self, table_name, *args, **kwargs)

    setattr(cls, name, counted)
    return original


@contextmanager
def count_sql() -> Iterator[SQLCounter]:
    counter = SQLCounter()
    pg = asyncpg.connection.Connection
    patches: list[tuple[Any, str, Any]] = []
    for cls, name in ((aiosqlite.Connection, "execute"), (aiosqlite.Connection, "executemany"),
                      (aiosqlite.Connection, "execute_fetchall"), (InlineConnection, "execute"),
                      (aiosqlite.Connection, "executescript"), (aiosqlite.Cursor, "execute"),
                      (aiosqlite.Cursor, "executemany"), (pg, "_execute"),
                      (pg, "executemany")):
        patches.append((cls, name, _wrap(cls, name, counter)))
    patches.append((pg, "execute", _wrap(pg, "execute", counter, only_without_args=True)))
    for name in ("copy_records_to_table", "copy_to_table"):
        patches.append((pg, name, _wrap_copy(pg, name, counter)))
    try:
        yield counter
    finally:
        for cls, name, original in reversed(patches):
            setattr(cls, name, original)
