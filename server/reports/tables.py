"""Finalised reports: frozen, versioned snapshots that later edits do not change."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.areas.tables import Area, User


class FinalReport(Table):
    id = Serial(primary_key=True)
    area = ForeignKey(Area, index=True)
    period_start = Date()
    period_end = Date()
    period_kind = Varchar(length=10)  # h1 | year | month | quarter | custom
    version = Integer(default=1)
    data = JSON()
    finalised_by = ForeignKey(User)
    finalised_at = Timestamptz(default=TimestamptzNow())
