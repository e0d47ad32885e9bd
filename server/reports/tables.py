"""Finalised reports (frozen, versioned snapshots that later edits do not change) and the
report documents' drafts: the prose an official writes for an area and period, kept in the
database so that it follows them from phone to office computer."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.areas.tables import Area, User


class FinalReport(Table):
    # (area, period_start, period_end, version) is unique (migration 2026-11-28): two
    # officials finalising at once get n and n+1.
    id = Serial(primary_key=True)
    area = ForeignKey(Area, index=True)
    period_start = Date()
    period_end = Date()
    period_kind = Varchar(length=10)  # h1 | year | month | quarter | custom
    version = Integer(default=1)
    data = JSON()
    finalised_by = ForeignKey(User)
    finalised_at = Timestamptz(default=TimestamptzNow())


class ReportDraft(Table):
    """The document's editable parts for one area and period (unique on the three): its
    header fields and the prose sections, saved as the official types."""

    id = Serial(primary_key=True)
    area = ForeignKey(Area, index=True)
    period_start = Date()
    period_end = Date()
    doc_number = Varchar(length=40, default="")
    recipients = Text(default="")
    signer_title = Varchar(length=120, default="")
    signer_name = Varchar(length=120, default="")
    situation = Text(default="")
    results = Text(default="")
    difficulties = Text(default="")
    recommendations = Text(default="")
    next_tasks = Text(default="")
    updated_by = ForeignKey(User, null=True)
    updated_at = Timestamptz(default=TimestamptzNow())
