"""Vietnam time, in one place: "today", the local day of an instant, the UTC bounds of a local
day, and dates and times written for people.

The database keeps instants in UTC; people live, enter dates and read reports in Vietnam time
(Asia/Ho_Chi_Minh, UTC+7 all year). Every "which day is it" and every day boundary goes
through here, so a visit at 06:30 in Vietnam is never filed under the day before. A naive
datetime is taken as UTC, which is what the database hands back on SQLite.

Dates are written dd/mm/yyyy in every locale (that is how the commune writes them on paper).
Reading dates from input, bounded so no input can make a 500, is `server.parse.parse_date`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE = "%d/%m/%Y"


def now() -> dt.datetime:
    """This instant, on Vietnam's clock."""
    return dt.datetime.now(VIETNAM)


def today() -> dt.date:
    """Today's date in Vietnam (dates are entered and reported as local dates)."""
    return now().date()


def to_vietnam(moment: dt.datetime) -> dt.datetime:
    """An instant in Vietnam time; a naive value is UTC (what the database stores)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VIETNAM)


def local_date(moment: dt.datetime) -> dt.date:
    """The Vietnam date on which an instant falls."""
    return to_vietnam(moment).date()


def day_start(day: dt.date) -> dt.datetime:
    """The instant (in UTC, as stored) at which a Vietnam date begins: 17:00 UTC the day
    before. A filter "from day A to day B" is `day_start(A) <= at < day_start(B + 1 day)`."""
    return dt.datetime.combine(day, dt.time(), VIETNAM).astimezone(dt.UTC)


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return local_date(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:  # a date kept as ISO text (JSON payloads, import rows)
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


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
