"""Counselling contacts' own rows (the entry itself — date, author, optional registered
person, review state, versions — is a row of `entry`), and the commune's hotline counsellors.

No column can hold a caller's name or number: the only identity a contact keeps is the
registered person on its entry, which is empty for an anonymous caller.
"""

from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, Serial, Text, Varchar
from piccolo.table import Table

from server.areas.tables import Area, User
from server.records.tables import Entry


class CounsellingContact(Table):
    """The current version's details of a `counselling` entry, plus its follow-up state (kept
    across corrections: closing is an action of its own, audited)."""

    id = Serial(primary_key=True)
    entry = ForeignKey(Entry, unique=True)
    contact_time = Varchar(length=5)  # HH:MM in Vietnam's time, on entry.entry_date
    channel = Varchar(length=12, index=True)
    asker = Varchar(length=10, index=True)
    topics = JSON(default="[]")  # list of CounselTopic codes
    actions = JSON(default="[]")  # list of CounselAction codes
    referral = UUID(null=True, default=None, index=True)  # the referral entry it made
    follow_up = Boolean(default=False)
    follow_up_note = Text(default="")
    follow_up_closed_on = Date(null=True, default=None)
    follow_up_closed_by = ForeignKey(User, null=True)
    follow_up_closing_note = Text(default="")


class Counsellor(Table):
    """A user of the commune who answers the hotline and records counselling contacts."""

    id = Serial(primary_key=True)
    commune = ForeignKey(Area, index=True)
    user = ForeignKey(User, unique=True)
