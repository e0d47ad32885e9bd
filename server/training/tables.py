"""Training sessions' own rows: the session's details and participants (the entry itself —
date, author, review state, versions — is a row of `entry`), and the commune's list of
volunteers allowed to record training."""

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Varchar
from piccolo.table import Table

from server.areas.tables import Area, Organisation, User
from server.records.tables import Entry


class TrainingSession(Table):
    """The current version's details of a `training` entry (rewritten on each correction)."""

    id = Serial(primary_key=True)
    entry = ForeignKey(Entry, unique=True)
    title = Varchar(length=200)
    topics = JSON(default="[]")  # list of TrainingTopic codes
    organisation = ForeignKey(Organisation, null=True)
    trainer = Varchar(length=120, default="")
    place = Varchar(length=200, default="")
    others_count = Integer(default=0)


class TrainingParticipant(Table):
    """A user of the commune who took part (so the share of staff trained is computed)."""

    id = Serial(primary_key=True)
    entry = ForeignKey(Entry, index=True)
    user = ForeignKey(User, index=True)


class TrainingRecorder(Table):
    """A volunteer the commune allows to record training sessions (officials always may)."""

    id = Serial(primary_key=True)
    commune = ForeignKey(Area, index=True)
    user = ForeignKey(User, unique=True)
    note = Text(default="")
