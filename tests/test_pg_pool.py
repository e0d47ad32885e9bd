"""The PostgreSQL pool gives a connection back without a reset round trip (server/db.py
`keep_session`), which is safe only while the app leaves no session state on a connection."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from server.db import db_lifespan, keep_session
from server.people.tables import Person
from tests.conftest import IS_PG, PG_URL, run
from tests.sqlcount import count_sql

ROOT = Path(__file__).resolve().parents[1]

# Statements whose effect outlives the transaction on a pooled connection: a session-level
# advisory lock, a LISTEN, a session setting, a cursor declared WITH HOLD, a temporary table
# kept past COMMIT, prepared statements by name. (The app writes its SQL keywords in capitals.)
SESSION_STATE = re.compile(
    r"pg_advisory_lock|pg_try_advisory_lock\b|\bLISTEN\b|(^|[\"';(]\s*)SET\s+(?!LOCAL\b)"
    r"|WITH\s+HOLD|TEMP(ORARY)?\s+TABLE|\bPREPARE\s+\w+\s+AS\b")  # SQL is written in capitals


def test_the_code_leaves_no_session_state_on_a_connection() -> None:
    found = []
    for path in sorted((ROOT / "server").rglob("*.py")) + sorted((ROOT / "schema").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SESSION_STATE.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    # The pool's reset (`keep_session`) would let these leak to the next request: undo them
    # there, or keep them inside a transaction.
    assert found == []


def test_the_pattern_catches_what_it_must() -> None:
    for sql in ("SELECT pg_advisory_lock(1)", "LISTEN feed", "SET statement_timeout = 5",
                'run("SET search_path TO x")', "SET SESSION timezone = 'UTC'",
                "SELECT 1; SET TIME ZONE 'UTC'",
                "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "CREATE TEMP TABLE t (x int)"):
        assert SESSION_STATE.search(sql), sql
    for sql in ("UPDATE entry SET state = $1", "SELECT pg_advisory_xact_lock(1)",
                "SET LOCAL lock_timeout = '1s'", "ON CONFLICT (author) DO UPDATE SET n = 1",
                'raw("UPDATE person SET code = {}", x)', "        SET n = n + 1"):
        assert not SESSION_STATE.search(sql), sql


@pytest.mark.skipif(not IS_PG, reason="PostgreSQL's pool")
def test_a_statement_through_the_pool_is_one_round_trip() -> None:
    async def go() -> int:
        async with db_lifespan(None):
            await Person.raw("SELECT 1 AS x")  # the pool's connections opened and introspected
            with count_sql() as sql:
                rows = await Person.raw("SELECT 2 AS x")
            assert rows == [{"x": 2}]
            return sql.count

    assert run(go()) == 1


@pytest.mark.skipif(not IS_PG, reason="PostgreSQL's pool")
def test_a_connection_comes_back_out_of_any_transaction() -> None:
    async def go() -> tuple[bool, list[object]]:
        pool = await asyncpg.create_pool(PG_URL, min_size=1, max_size=1, reset=keep_session)
        try:
            async with pool.acquire() as connection:
                await connection.execute("BEGIN")
                await connection.execute("CREATE TABLE left_open (x int)")
            async with pool.acquire() as connection:
                open_after = connection.is_in_transaction()
                tables = await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE tablename = 'left_open'")
            return open_after, list(tables)
        finally:
            await pool.close()

    assert run(go()) == (False, [])
