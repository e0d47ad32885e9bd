"""Reading numbers, dates and JSON from user input — bounded, in one place.

No input may make a 5xx (README, *Decisions*). What used to break:

- numbers: `str.isdigit()` is true for "²" and "١٢", which `int()` then refuses or reads as
  another number; an id past 2^31 is a database error on PostgreSQL (INTEGER columns) and past
  2^63 on SQLite; a page number past the row count is an OFFSET the database cannot hold;
- dates and times: year 1 and year 9999 are valid `date`s, but one day's arithmetic or a
  ±14:00 offset moves them out of `datetime`'s range (OverflowError) or out of the report's
  sense; only ASCII digits in the formats the app shows are read;
- JSON: 5,000 nested `[` make msgspec raise RecursionError, and a few hundred decode fine and
  then break the code that walks them.

Every parser here returns None (or raises `JSONError`, a `msgspec.DecodeError`, so the handlers'
existing "not valid JSON" answers cover it) instead of raising on any input; the caller says
what is wrong in its own translated words. `guard_input` (the app's `before_request`) applies
the JSON limits to every request body, so the routes whose bodies Litestar decodes itself (the
passkey ceremonies) are covered too, and refuses the NUL character PostgreSQL cannot store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException

from server.i18n import _

# ---------------------------------------------------------------- numbers

INT4_MAX = 2**31 - 1  # ids are INTEGER (serial) on PostgreSQL
MAX_PAGE = 100_000
_DIGITS = frozenset("0123456789")

def parse_int(value: object, low: int = -INT4_MAX, high: int = INT4_MAX) -> int | None:
    """An integer written in ASCII digits with an optional sign, within [low, high]; else None.

    Spreadsheets hand whole numbers over as "1990.0": that trailing ".0" is accepted."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if low <= value <= high else None
    text = str(value if value is not None else "").strip()
    if text.endswith(".0"):
        text = text[:-2]
    sign, digits = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    if not digits or len(digits) > 20 or not _DIGITS.issuperset(digits):
        return None
    number = int(sign + digits)
    return number if low <= number <= high else None


def db_id(value: object) -> int | None:
    """A row id from user input, or None (then: "not found", never a database error)."""
    return parse_int(value, 1, INT4_MAX)


def page_number(value: object, last: int = MAX_PAGE) -> int:
    """A page number from the query string: 1 when unreadable, at most `last`."""
    number = parse_int(value, 1, 2**63)
    return min(number, last) if number is not None else 1


# ---------------------------------------------------------------- dates and times

# Far enough for any birth, register or report date; near enough that a year of arithmetic
# or a time zone never leaves `datetime`'s range.
MIN_YEAR, MAX_YEAR = 1900, 2200
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")
_DATE_CHARS = frozenset("0123456789-/")


def _in_range(day: dt.date, low: dt.date | None, high: dt.date | None) -> bool:
    return MIN_YEAR <= day.year <= MAX_YEAR and (low is None or day >= low) and \
        (high is None or day <= high)


def parse_date(value: object, formats: Iterable[str] = ("%Y-%m-%d",),
               low: dt.date | None = None, high: dt.date | None = None) -> dt.date | None:
    """A date in one of `formats` (ISO by default; forms also take day/month/year), in ASCII
    digits, between years 1900 and 2200 and within [low, high]; else None."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value if _in_range(value, low, high) else None
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 10 or not _DATE_CHARS.issuperset(text):
        return None
    for fmt in formats:
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return day if _in_range(day, low, high) else None
    return None


def parse_datetime(value: object) -> dt.datetime | None:
    """An RFC 3339 / ISO 8601 date and time, as an aware UTC datetime (no offset: UTC), with
    its year between 1900 and 2200; else None. Offsets up to ±23:59 are read."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value if value is not None else "").strip()
        if not text or len(text) > 40 or not text.isascii():
            return None
        try:
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            return None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# ---------------------------------------------------------------- JSON

MAX_JSON_DEPTH = 32  # the deepest real body (a sync batch) is 5
MAX_JSON_BYTES = 4 * 1024 * 1024  # a full sync batch of 200 long records is well under 1 MB


_DEEP, _LARGE = "nested too deep", "too large"


class JSONError(msgspec.DecodeError):
    """Not JSON the app reads: malformed, too deep or too large."""


_CONTAINERS = (dict, list)


def json_depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when no container in decoded JSON `value` (dicts and lists, as a JSON decoder
    gives them) is nested deeper than `limit`; walked level by level without recursion, so
    the check itself cannot overflow. Only containers go on to the next level, picked in a
    comprehension: a sync batch's ~2,400 plain values are looked at once each, not pushed and
    popped one by one (0.80 → 0.27 ms a batch of 100 visits)."""
    level: list[Any] = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        below: list[Any] = []
        for node in level:
            below += [child for child in (node.values() if type(node) is dict else node)
                      if type(child) in _CONTAINERS]
        level = below
    return True


def decode_json(body: bytes | str, max_depth: int = MAX_JSON_DEPTH,
                max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The one JSON decoder for user input: raises `JSONError` (a `msgspec.DecodeError`) on a
    malformed, too deep or too large body, never RecursionError."""
    if len(body) > max_bytes:
        raise JSONError(_LARGE)
    try:
        value = msgspec.json.decode(body)
    except RecursionError as exc:
        raise JSONError(_DEEP) from exc
    except msgspec.DecodeError as exc:
        raise JSONError(str(exc)) from exc
    if not json_depth_ok(value, max_depth):
        raise JSONError(_DEEP)
    return value


# Where a request keeps its decoded JSON body (or the JSONError it gave): `guard_input` decodes
# it before the handler, and the handler's `request_json` takes the same outcome instead of
# decoding and walking a sync batch a second time.
_DECODED = "donghanh.json_body"


async def request_json(request: Request) -> Any:
    """The request's JSON body through `decode_json`, decoded once per request."""
    state = request.state
    if _DECODED not in state:
        try:
            state[_DECODED] = decode_json(await request.body())
        except JSONError as exc:
            state[_DECODED] = exc
    outcome = state[_DECODED]
    if isinstance(outcome, JSONError):
        raise outcome
    return outcome


def json_codes(value: Any) -> list[str]:
    """A list of codes from a JSON list column (text on SQLite, a list on PostgreSQL): the
    codes as text; a value that is not a JSON list reads as no codes."""
    try:
        items = json.loads(value) if isinstance(value, str) else list(value or [])
    except (TypeError, ValueError):
        return []
    return [str(i) for i in items] if isinstance(items, list) else []


async def guard_input(request: Request) -> None:
    """Litestar's `before_request` for every route: what no handler can read is refused here
    with a translated 400, before any handler (or Litestar's own body decoding) sees it —
    a NUL character in the path, query string or a form (PostgreSQL cannot store it, and
    nobody types it), and a JSON body nested too deep or too large. A body that is simply not
    JSON passes on: the handler answers it in its own words."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope.get("query_string", b""):
        raise ClientException(_("The request contains a character that is not allowed."))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type[0]
    if content_type == "multipart/form-data":  # uploads: the importer reads them bounded
        return
    body = await request.body()  # kept by Litestar for the handler
    if content_type == "application/x-www-form-urlencoded":
        if b"%00" in body or b"\x00" in body:
            raise ClientException(_("The request contains a character that is not allowed."))
        return
    if body.lstrip()[:1] in (b"[", b"{"):
        try:
            await request_json(request)
        except JSONError as exc:
            if exc.args and exc.args[0] in (_DEEP, _LARGE):
                raise ClientException(
                    _("The request is too large or nested too deeply.")) from exc
