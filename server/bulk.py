"""Statements with many parameters (a multi-row INSERT of a sync batch), compiled once.

`Table.raw(template, *args)` walks every argument in Python twice (`QueryString.process_args`
and `bundle`, looking for nested columns and query strings) before each run: for a 100-row
INSERT of `entry` (~5,000 parameters) that alone cost more than the database's work. A
`Compiled` query string carries the engine's SQL, compiled from the template once per shape
(`compiled_sql`, cached), and hands its arguments over as they are. It still runs through
the Piccolo engine (`run`), so it takes the current transaction's connection like any query.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from piccolo.engine.base import Engine
from piccolo.querystring import QueryString


class Compiled(QueryString):
    """A query string whose SQL is already in the engine's placeholder style."""

    def __init__(self, sql: str, args: list[Any]) -> None:
        super().__init__("")
        self.sql = sql
        self.sql_args = args

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list[Any]]:
        return self.sql, self.sql_args

    def __str__(self) -> str:  # what Piccolo's query log prints
        return self.sql


@cache
def compiled_sql(template: str, placeholders: int, engine_type: str) -> str:
    """The engine's SQL for a template with `placeholders` `{}` marks ($1… or ?)."""
    return QueryString(template, *([None] * placeholders)).compile_string(engine_type)[0]


async def run(engine: Engine[Any], template: str, args: list[Any]) -> list[dict[str, Any]]:
    """Run `template` (with one `{}` per argument) on `engine`, in its current transaction if
    there is one; rows as dicts."""
    sql = compiled_sql(template, len(args), engine.engine_type)
    rows = await engine.run_querystring(Compiled(sql, args))
    return [dict(r) for r in rows] if rows else []
