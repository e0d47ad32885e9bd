"""server/sqlconv.py's converters give exactly what Piccolo's give, for every shape of stored
text, and they are the ones SQLite uses once the app's database module is loaded."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from typing import Any

import pytest
from piccolo.engine import sqlite as piccolo_sqlite

from server import db, sqlconv

SAMPLES: dict[str, list[bytes]] = {
    "INTEGER": [b"0", b"7", b"-12", b"9223372036854775807", b"-9223372036854775808",
                b"1.0", b"2.5", b"1e3", b" 12 ", b"1_000", b"0x10", b"abc", b"", b"+5",
                "١٢".encode()],
    "UUID": [str(uuid.uuid4()).encode() for _ in range(20)] + [
        b"00000000-0000-0000-0000-000000000000", b"ffffffff-ffff-ffff-ffff-ffffffffffff",
        b"FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", b"12345678123456781234567812345678",
        b"{12345678-1234-5678-1234-567812345678}", b"urn:uuid:12345678-1234-5678-1234-567812345678",
        b"12345678-1234-5678-1234-56781234567g", b"12345678-1234-5678-1234-5678_2345678",
        b"+2345678-1234-5678-1234-567812345678", b" 2345678-1234-5678-1234-567812345678",
        b"12345678-1234-5678-1234-5678123456", b"", b"not a uuid"],
    "DATE": [b"2026-11-28", b"1999-01-01", b"2026-02-30", b"20261128", b"x"],
    "TIMESTAMP": [b"2026-11-28 15:40:01", b"2026-11-28T15:40:01.123456", b"2026-11-28",
                  b"2026-11-28 15:40:01+07:00", b"junk"],
    "TIMESTAMPTZ": [b"2026-11-28 15:40:01.5", b"2026-11-28 15:40:01+00:00",
                    b"2026-11-28 08:40:01+07:00", b"2026-11-28", b"junk"],
    "BOOLEAN": [b"1", b"0", b"", b"true", b"01"],
}


def outcome(convert: Any, value: bytes) -> tuple[str, Any]:
    try:
        made = convert(value)
    except Exception as error:  # the same rejection, whatever it is
        return ("raises", type(error))
    return (type(made).__name__, (made, repr(made), getattr(made, "is_safe", None)))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_converter_gives_what_piccolos_gives(name: str) -> None:
    ours, theirs = sqlconv.CONVERTERS[name], piccolo_sqlite.CONVERTERS[name]
    for value in SAMPLES[name]:
        assert outcome(ours, value) == outcome(theirs, value), value


def test_a_uuid_made_fast_behaves_as_any_uuid() -> None:
    text = "5f0c6b8e-3d2a-4c1b-9e7f-0a1b2c3d4e5f"
    made = sqlconv.convert_uuid(text.encode())
    assert made == uuid.UUID(text) and hash(made) == hash(uuid.UUID(text))
    assert str(made) == text and made.version == 4 and {made: 1}[uuid.UUID(text)] == 1
    with pytest.raises(TypeError):
        made.int = 1  # type: ignore[misc]


def test_sqlite_reads_columns_through_ours(tmp_path: Any) -> None:
    assert db is not None  # importing the app's database module installs them
    connection = sqlite3.connect(tmp_path / "c.sqlite", detect_types=sqlite3.PARSE_DECLTYPES)
    connection.execute("CREATE TABLE t (n INTEGER, u UUID, d DATE, at TIMESTAMPTZ, b BOOLEAN)")
    key = uuid.uuid4()
    connection.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                       (42, str(key), "2026-11-28", "2026-11-28 15:40:01", 1))
    row = connection.execute("SELECT n, u, d, at, b FROM t").fetchone()
    assert row == (42, key, dt.date(2026, 11, 28),
                   dt.datetime(2026, 11, 28, 15, 40, 1, tzinfo=dt.UTC), True)
    for name, converter in sqlconv.CONVERTERS.items():
        assert sqlite3.converters[name] is converter
