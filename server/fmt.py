"""The one place that turns dates, times and numbers into text for people.

Every template formats through the Jinja filters registered from here (`date`, `datetime`,
`time`, `number`, `percent`), so a page can never show an ISO date, a UTC time or an English
decimal point to a Vietnamese reader by accident:

- dates are dd/mm/yyyy in every locale (that is how the commune writes them on paper);
- times are shown in Vietnam time (Asia/Ho_Chi_Minh): the database keeps UTC, people do not
  live in it, so an aware datetime is converted and a naive one is taken as UTC;
- numbers and percentages follow the page's locale through babel ("1.234", "0,0%" in `vi`).

The outbox list, drawn by the phone, has its one counterpart in pwa/outbox.js (`formatWhen`).
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

from server import i18n

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE = "%d/%m/%Y"


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return to_vietnam(value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:  # a date kept as ISO text (JSON payloads, import rows)
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def to_vietnam(value: dt.datetime) -> dt.datetime:
    """An instant in Vietnam time; a naive value is UTC (what the database stores)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VIETNAM)


def date(value: object, empty: str = "—") -> str:
    """dd/mm/yyyy; a datetime gives its day in Vietnam; nothing (or junk text) gives `empty`."""
    day = _as_date(value)
    if day is None:
        return str(value) if isinstance(value, str) and value else empty
    return day.strftime(DATE)


def datetime(value: object, empty: str = "—", seconds: bool = False) -> str:
    """dd/mm/yyyy hh:mm in Vietnam time (a plain date prints as `date`)."""
    if isinstance(value, str) and value:
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, dt.datetime):
        return date(value, empty)
    return to_vietnam(value).strftime(DATE + (" %H:%M:%S" if seconds else " %H:%M"))


def time(value: object, empty: str = "—", seconds: bool = False) -> str:
    """hh:mm in Vietnam time."""
    if not isinstance(value, dt.datetime):
        return empty if value is None else str(value)
    return to_vietnam(value).strftime("%H:%M:%S" if seconds else "%H:%M")


def number(value: object, digits: int | None = None) -> str:
    """A number in the page's locale: "1.234" and "2,5" in vi, "1,234" and "2.5" in en."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, (int, float)):
        return str(value)
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=i18n.get_locale())


def percent(value: object, digits: int = 1) -> str:
    """A share (0.25 → "25,0%" in vi) in the page's locale; nothing gives "—"."""
    if value is None or value == "" or not isinstance(value, (int, float)):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=i18n.get_locale())


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def value(raw: object) -> str:
    """A stored value as text, with a date-shaped one (JSON keeps dates as ISO text) written
    as a date: for pages that show data whose fields they do not know (audit, review)."""
    if isinstance(raw, dt.datetime):
        return datetime(raw)
    if isinstance(raw, dt.date):
        return date(raw)
    text = str(raw)
    if _ISO_DAY.fullmatch(text):
        return date(text)
    if _ISO_INSTANT.match(text):
        return datetime(text)
    return text


FILTERS = {"date": date, "datetime": datetime, "time": time, "number": number, "percent": percent}
