"""The area tree (province → optional district → commune → village), organisations and users."""

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

LEVELS = ("province", "district", "commune", "village")
ROLES = ("volunteer", "official", "supervisor", "admin")


class Area(Table):
    id = Serial(primary_key=True)
    code = Varchar(length=20, unique=True)
    name = Varchar(length=120)
    level = Varchar(length=10, index=True)
    parent: ForeignKey = ForeignKey("self", null=True, index=True)
    # Villages officials flag as drug hot spots (seeds: every hot spot needs prevention work).
    hotspot = Boolean(default=False)
    # Commune settings (ignored on other levels).
    person_prefix = Varchar(length=6, default="")
    visit_frequency_days = Integer(default=30)
    review_overdue_days = Integer(default=3)


class Organisation(Table):
    id = Serial(primary_key=True)
    code = Varchar(length=20, unique=True)
    name = Varchar(length=120)


class User(Table, tablename="app_user"):
    id = Serial(primary_key=True)
    display_name = Varchar(length=120)
    role = Varchar(length=12, index=True)
    area = ForeignKey(Area, index=True)
    organisation = ForeignKey(Organisation, null=True)
    phone = Varchar(length=20, default="")
    active = Boolean(default=True)
    # The random WebAuthn user handle: never the name or the phone number.
    handle = Bytea(unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
