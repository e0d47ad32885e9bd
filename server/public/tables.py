"""The public page's own rows: its text and hotline (published and draft kept apart), and the
outreach talks officials announce before they happen.

Nothing here is about a person: the page is read by anyone, cached by browsers and proxies,
and printed on posters.
"""

from piccolo.columns import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.areas.tables import Area, User


class PublicPage(Table):
    """One row per commune or province that has changed its page.

    A NULL body means "the project's standard text", so a commune that never edited it follows
    improvements of that text. The draft columns are what the editor saves and the preview
    shows; publishing copies them over the published ones in one audited transaction.
    """

    id = Serial(primary_key=True)
    area = ForeignKey(Area, unique=True)
    # published
    body_vi = Text(null=True, default=None)
    body_en = Text(null=True, default=None)
    hotline_number = Varchar(length=20, default="")
    hotline_hours = Varchar(length=120, default="")
    version = Integer(default=0)
    published_at = Timestamptz(null=True, default=None)
    published_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    # draft (pending while draft_saved_at is set)
    draft_body_vi = Text(null=True, default=None)
    draft_body_en = Text(null=True, default=None)
    draft_hotline_number = Varchar(length=20, default="")
    draft_hotline_hours = Varchar(length=120, default="")
    draft_saved_at = Timestamptz(null=True, default=None)
    draft_saved_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)


class PlannedTalk(Table):
    """An outreach talk announced ahead: a date, a place and a topic — never who attends.

    Field records of talks are written after the talk happened (their date may not be in the
    future), so upcoming talks are announced here by officials and leave the page by
    themselves once their day has passed.
    """

    id = Serial(primary_key=True)
    area = ForeignKey(Area, index=True)
    talk_date = Date(index=True)
    start_time = Varchar(length=5, default="")  # HH:MM, optional
    place = Varchar(length=160)
    topic = Varchar(length=20)  # schema.enums.Topic
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
