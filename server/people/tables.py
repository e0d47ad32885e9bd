"""The register of people supported, their category history and their management teams."""

from piccolo.columns import (
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.areas.tables import Area, User


class Person(Table):
    id = Serial(primary_key=True)
    commune = ForeignKey(Area, index=True)
    code = Varchar(length=20, index=True)  # commune-local, e.g. HK-0042 (unique per commune)
    full_name = Varchar(length=120)
    # Lower-case, without diacritics: what search compares against (both engines).
    search_text = Varchar(length=200, index=True)
    birth_year = Integer()
    sex = Varchar(length=6)  # male | female | other
    village = ForeignKey(Area, null=True, index=True)
    phone = Varchar(length=20, default="")
    address = Varchar(length=200, default="")
    category = Varchar(length=20, index=True)  # current category, mirrors the open history row
    status = Varchar(length=8, default="active", index=True)  # active | ended
    notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CategoryPeriod(Table):
    id = Serial(primary_key=True)
    person = ForeignKey(Person, index=True)
    category = Varchar(length=20)
    start_date = Date()
    planned_end = Date(null=True, default=None)
    actual_end = Date(null=True, default=None)
    end_reason = Varchar(length=20, default="")  # completed|relapsed|moved|died|imprisoned|compulsory


class TeamMember(Table):
    id = Serial(primary_key=True)
    person = ForeignKey(Person, index=True)
    user = ForeignKey(User, index=True)
    role = Varchar(length=8, default="member")  # primary | member
    start_date = Date()
    end_date = Date(null=True, default=None, index=True)
    assigned_by = ForeignKey(User, null=True)


class PersonTransfer(Table):
    """A person moving to another commune keeps one identity and history: the first commune's
    official starts the transfer (the day of the move), the second commune's official accepts
    it, and from then the person is the second commune's. Reports read these rows to give each
    commune the person's time with it (visits stay with the commune that made them)."""

    id = Serial(primary_key=True)
    person = ForeignKey(Person, index=True)
    from_commune = ForeignKey(Area, index=True)
    to_commune = ForeignKey(Area, index=True)
    moved_on = Date()  # the first day in the new commune
    state = Varchar(length=10, default="started", index=True)  # started|accepted|cancelled
    note = Text(default="")
    started_by = ForeignKey(User)
    started_at = Timestamptz(default=TimestamptzNow())
    decided_by = ForeignKey(User, null=True)
    decided_at = Timestamptz(null=True, default=None)
    old_code = Varchar(length=20, default="")  # the code in the first commune, kept for its papers
