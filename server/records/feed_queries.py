"""The numbers of the update feed: every write that changes what an author's phone must learn
about an entry (submit, correction, each review decision, referral steps) stamps the entry
with the next number of that author's counter, inside the writing transaction.

Why a counter row and not a clock or a database SEQUENCE: the feed answers "everything after
N", so a number must never become visible after a higher one was already read. A clock
(`updated_at`) breaks that as soon as a transaction that took its time early commits late; a
PostgreSQL SEQUENCE breaks it the same way (`nextval` hands out 5 to T1 and 6 to T2, T2
commits first, a reader sees 6, moves its cursor to 6 and never sees 5).

`change_counter` has one row per author, and `take_change_seqs` increments it with
`INSERT … ON CONFLICT (author) DO UPDATE SET n = n + k RETURNING n` in the caller's
transaction. The row lock that UPDATE takes is held until that transaction ends, so a second
writer for the same author waits, and only reads the incremented value after the first has
committed (PostgreSQL READ COMMITTED re-reads the row it waited for). Hence, per author,
numbers are handed out in commit order: when a reader's snapshot holds number n, every
number below n of that author is committed too (or was rolled back and never used, which
only leaves a gap). One counter per author keeps writers of different authors apart; the
feed is per author, so no global order is needed. On SQLite, write transactions are already
serialised by the database lock (they start IMMEDIATE, server/db.py), and the same code runs.

Callers lock entry rows first (their guarded UPDATE) and counters after, several counters in
ascending author order, so two transactions never wait on each other's counters. (A sync
batch takes its author's counter before it INSERTs new entries with their numbers: a new row
is no row another transaction holds; server.records.batch.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from server.records.tables import Entry


async def take_change_seqs(author_id: int, count: int = 1) -> int:
    """Reserve `count` consecutive feed numbers of `author_id` and return the last one.

    Must run inside the write transaction that changes the entries."""
    rows = await Entry.raw(
        "INSERT INTO change_counter (author, n) VALUES ({}, {}) ON CONFLICT (author) "
        "DO UPDATE SET n = change_counter.n + excluded.n RETURNING n", author_id, count)
    return int(rows[0]["n"])


async def stamp_changes(changed: Iterable[tuple[Any, int]]) -> None:
    """Give each (entry id, author id) the next number of its author's feed.

    Must run inside the write transaction that changed the entries, after their UPDATE. One
    counter increment and one UPDATE per author, however many entries (a bulk approval)."""
    by_author: dict[int, set[uuid.UUID]] = {}
    for entry_id, author in changed:
        eid = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id))
        by_author.setdefault(int(author), set()).add(eid)
    for author in sorted(by_author):
        ids = sorted(by_author[author])
        first = await take_change_seqs(author, len(ids)) - len(ids)
        if len(ids) == 1:
            await Entry.update({Entry.change_seq: first + 1}).where(Entry.id == ids[0])
            continue
        marks = ", ".join("{}" for _ in ids)
        await Entry.raw(
            f"UPDATE entry SET change_seq = s.rn + {{}} FROM (SELECT id, ROW_NUMBER() OVER "
            f"(ORDER BY id) AS rn FROM entry WHERE id IN ({marks})) AS s "
            f"WHERE entry.id = s.id", first, *ids)


async def current_change_seq(author_id: int) -> int:
    """The last number of the author's feed that is committed (0 before their first write)."""
    rows = await Entry.raw("SELECT n FROM change_counter WHERE author = {}", author_id)
    return int(rows[0]["n"]) if rows else 0
