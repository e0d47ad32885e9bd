"""Faster SQLite column converters, giving exactly the values Piccolo's give.

Piccolo's SQLite engine opens connections with `detect_types` and registers a converter per
declared column type (`piccolo.engine.sqlite.CONVERTERS`): every non-NULL INTEGER, UUID, DATE,
TIMESTAMPTZ… value a statement returns goes through one. Each is wrapped in `decode_to_string`
(a second Python call and two `isinstance`), the INTEGER one goes through `Decimal`
(`int(Decimal(value))`, ~2.5 µs a value) and the UUID one through `uuid.UUID.__init__`'s
parsing (~4 µs). A volunteer's home page converts ~260 values, the review queue ~310: about
half a millisecond of a page's 5 ms budget. SQLite hands a converter the value's text as
bytes; the converters below read those bytes directly and fall back to Piccolo's own for any
text they do not recognise, so a value converts to the same Python object either way
(`tests/test_sqlconv.py` compares them on every shape).

Registering is global to the `sqlite3` module (converters are looked up by declared type
name when a row is read), so `install()` runs once when `server.db` is imported, after
Piccolo's own registration. The array converters Piccolo registers keep its functions: they
call the converter with text, not bytes.
"""

from __future__ import annotations

import datetime
import sqlite3
import uuid

from piccolo.engine import sqlite as piccolo_sqlite

_UTC = datetime.UTC
_UUID = uuid.UUID
_UNKNOWN = uuid.SafeUUID.unknown
_set = object.__setattr__
_new = object.__new__
_pic = piccolo_sqlite.CONVERTERS


def convert_int(value: bytes) -> int:
    """An INTEGER column's value; a stored text like b"1.0" takes Piccolo's Decimal path."""
    try:
        return int(value)
    except ValueError:
        return _pic["INTEGER"](value)  # type: ignore[no-any-return]


def convert_uuid(value: bytes) -> uuid.UUID:
    """A UUID column's value, stored as its 36-character text: the UUID built from the integer
    of its hex digits, as `uuid.UUID(hex)` builds it; any other text goes to `uuid.UUID`."""
    if len(value) == 36 and value[8:9] == value[13:14] == value[18:19] == value[23:24] == b"-":
        try:
            number = int(value.replace(b"-", b""), 16)
        except ValueError:
            return _pic["UUID"](value)  # type: ignore[no-any-return]
        made = _new(_UUID)
        _set(made, "int", number)
        _set(made, "is_safe", _UNKNOWN)
        return made  # type: ignore[no-any-return]
    return _pic["UUID"](value)  # type: ignore[no-any-return]


def convert_date(value: bytes) -> datetime.date:
    return datetime.date.fromisoformat(value.decode())


def convert_timestamp(value: bytes) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.decode())


def convert_timestamptz(value: bytes) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.decode()).replace(tzinfo=_UTC)


def convert_boolean(value: bytes) -> bool:
    return value == b"1"


CONVERTERS = {
    "INTEGER": convert_int,
    "UUID": convert_uuid,
    "DATE": convert_date,
    "TIMESTAMP": convert_timestamp,
    "TIMESTAMPTZ": convert_timestamptz,
    "BOOLEAN": convert_boolean,
}


def install() -> None:
    for name, converter in CONVERTERS.items():
        sqlite3.register_converter(name, converter)
