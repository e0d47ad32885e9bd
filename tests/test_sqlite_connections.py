"""SQLite's kept connections (server/db.py): reads never queue behind a write that waits for
the write lock, transactions borrow kept connections instead of opening new ones, a page's
reads run on the event loop's thread and a report's long reads leave it free.

The fault is real: a second sqlite3 connection holds the write lock (BEGIN IMMEDIATE), as a
sync batch of another process does while it stores its records.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from tests.conftest import IS_PG, run

pytestmark = pytest.mark.skipif(IS_PG, reason="SQLite's connections")


def test_a_read_is_answered_while_a_write_waits_for_the_lock(world: dict[str, Any]) -> None:
    from server.people.tables import Person
    from server.piccolo_conf import DB

    before = DB.busy_timeout_ms
    DB.busy_timeout_ms = 5000  # the waiting write gives up after 5 s, not 10
    holder = sqlite3.connect(DB.connection_kwargs["database"], timeout=0, isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction

    async def scenario() -> tuple[bool, int]:
        # A write outside a transaction (as a session saved at sign-in): it waits for the lock.
        write = asyncio.ensure_future(Person.raw(
            "UPDATE person SET phone = phone WHERE commune = {}", world["A"]))
        await asyncio.sleep(0.3)  # it has reached SQLite and waits there
        rows = await Person.select(Person.id).where(Person.commune == world["A"])
        write_still_waiting = not write.done()
        holder.execute("ROLLBACK")  # the other writer is done: the write goes through
        await write
        return write_still_waiting, len(rows)

    try:
        still_waiting, _n = run(scenario())
    finally:
        DB.busy_timeout_ms = before
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
    # The read was answered while the write was still waiting: it did not queue behind it.
    assert still_waiting


def test_transactions_reuse_kept_connections(world: dict[str, Any]) -> None:
    from server.db import write_transaction
    from server.people.tables import Person
    from server.piccolo_conf import DB

    async def twice() -> list[Any]:
        seen = []
        for _ in range(2):
            async with write_transaction(DB) as tx:
                await Person.raw("UPDATE person SET phone = phone WHERE id = 0")
                seen.append(tx.connection)
        return seen

    first, second = run(twice())
    assert first is second


# A read of ~300,000 generated rows: long enough for the event loop to tick many times if it
# runs elsewhere, and once at most if it runs on the loop's own thread.
SLOW_READ = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
             "SELECT count(*) AS n FROM c")


def test_long_reads_leave_the_event_loop_free(world: dict[str, Any]) -> None:
    from server.db import long_reads
    from server.people.tables import Person

    async def ticks_during(long: bool) -> tuple[int, int]:
        if long:
            with long_reads():  # as a report does; the task inherits it
                read = asyncio.ensure_future(Person.raw(SLOW_READ))
        else:
            read = asyncio.ensure_future(Person.raw(SLOW_READ))
        ticks = 0
        while not read.done():
            await asyncio.sleep(0.001)
            ticks += 1
        return ticks, (await read)[0]["n"]

    inline_ticks, inline_rows = run(ticks_during(long=False))
    long_ticks, long_rows = run(ticks_during(long=True))
    assert inline_rows == long_rows == 300000
    # A page's read is made on the loop's thread, without a hop: the loop waits for it.
    assert inline_ticks <= 1
    # A long read is made on a reader thread: the loop goes on serving meanwhile.
    assert long_ticks >= 5


def test_every_connection_carries_the_pragmas(world: dict[str, Any]) -> None:
    """The inline read connection, a reader and a write transaction's connection all run with
    server.db.PRAGMAS (the checkpoint interval and page cache a sync batch relies on, the
    memory map reads rely on) — the settings are per connection, not per file."""
    from server.db import PRAGMAS
    from server.people.tables import Person
    from server.piccolo_conf import DB

    wanted = {}
    for pragma in PRAGMAS:
        name, value = pragma.removeprefix("PRAGMA ").split(" = ")
        wanted[name] = int({"NORMAL": "1"}.get(value, value))
    assert wanted["wal_autocheckpoint"] == 10000

    def first(rows: Any) -> int:  # the one value of a PRAGMA's one row (a dict or a tuple)
        row = list(rows)[0]
        return int(next(iter(row.values())) if isinstance(row, dict) else row[0])

    async def scenario() -> list[dict[str, int]]:
        inline = DB._inline_connection()
        seen = [{name: first(inline.execute(f"PRAGMA {name}")) for name in wanted}]
        reader = await DB._reader()
        seen.append({name: first(await reader.execute_fetchall(f"PRAGMA {name}"))
                     for name in wanted})
        async with DB.transaction():
            seen.append({name: first(await Person.raw(f"PRAGMA {name}")) for name in wanted})
        return seen

    assert run(scenario()) == [wanted, wanted, wanted]
