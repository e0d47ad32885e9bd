"""Field records — visits, talks, referrals and referral follow-up steps — in one table, with
their versions, the steps' details and the per-author counters of the update feed.

One wide `entry` table (kind-specific columns are NULL for other kinds) keeps review, sync,
versions and reports on one key: the client UUID the phone made when the form was opened.
A referral follow-up step is an entry too (kind `referral_status`, reviewed like the rest);
its referral, status, outcome, date and note live in `referral_event` under the same id.
"""

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
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

from server.areas.tables import Area, Organisation, User
from server.people.tables import Person

STATES = ("submitted", "approved", "returned", "rejected")


class Provider(Table):
    """Receiving services a commune refers people to (officials maintain the list)."""

    id = Serial(primary_key=True)
    commune = ForeignKey(Area, index=True)
    name = Varchar(length=120)
    service = Varchar(length=20)
    active = Boolean(default=True)
    # What the commune's public page shows of a provider (server/public): where, when and how
    # to reach it. `listed` is the official's choice to show it there (a peer group may want
    # to stay off a public notice board).
    address = Varchar(length=200, default="")
    hours = Varchar(length=120, default="")
    phone = Varchar(length=20, default="")
    listed = Boolean(default=False)


class Entry(Table):
    # `index=True` of commune, author and person is what the first migration created; those
    # three single-column indexes are dropped again by records_2026_11_28t10_05 (longer
    # indexes start with the same column). Left declared so Piccolo's migration state and
    # this class agree.
    id = UUID(primary_key=True)  # the client UUID: the idempotency key of sync
    kind = Varchar(length=20, index=True)  # visit | talk | referral | referral_status
    commune = ForeignKey(Area, index=True)
    village = ForeignKey(Area, null=True, index=True)
    author = ForeignKey(User, index=True)
    person = ForeignKey(Person, null=True, index=True)
    entry_date = Date(index=True)  # the day it happened, in Vietnam's time
    recorded_at = Timestamptz()  # device time, UTC
    received_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
    state = Varchar(length=10, default="submitted", index=True)
    content_hash = Varchar(length=64)
    receipt = Varchar(length=16)
    review_comment = Text(default="")
    reviewed_by = ForeignKey(User, null=True)
    reviewed_at = Timestamptz(null=True, default=None)
    notes = Text(default="")
    # The author's update feed reads by this number, taken in the writing transaction from
    # the author's `change_counter` row (see server.records.feed_queries).
    change_seq = BigInt(default=0)
    # visit
    visit_kind = Varchar(length=10, null=True, default=None)  # home | phone | commune
    met = Boolean(null=True, default=None)
    not_met_reason = Varchar(length=12, null=True, default=None)  # not_home|refused|moved
    health = Text(null=True, default=None)
    work = Text(null=True, default=None)
    family = Text(null=True, default=None)
    drug_signs = Varchar(length=10, null=True, default=None)  # none|suspected|confirmed
    methadone = Varchar(length=10, null=True, default=None)  # na|adherent|missed|stopped
    support = JSON(null=True, default=None)  # list of support codes
    risk = Varchar(length=8, null=True, default=None)  # low|medium|high
    next_step = Text(null=True, default=None)
    next_visit_date = Date(null=True, default=None)
    # talk
    setting = Varchar(length=10, null=True, default=None)
    format = Varchar(length=12, null=True, default=None)
    topics = JSON(null=True, default=None)
    organisation = ForeignKey(Organisation, null=True)
    attendees_total = Integer(null=True, default=None)
    attendees_women = Integer(null=True, default=None)
    attendees_under30 = Integer(null=True, default=None)
    attendees_students = Integer(null=True, default=None)
    materials = Integer(null=True, default=None)
    # referral (person, or an unregistered contact: alias, sex, age band — nothing more)
    contact_alias = Varchar(length=60, null=True, default=None)
    contact_sex = Varchar(length=6, null=True, default=None)
    contact_age_band = Varchar(length=8, null=True, default=None)
    service = Varchar(length=20, null=True, default=None)
    provider = ForeignKey(Provider, null=True)
    reason = Text(null=True, default=None)
    urgency = Varchar(length=8, null=True, default=None)
    ref_status = Varchar(length=10, null=True, default=None)  # referred|received|attended|closed
    ref_outcome = Varchar(length=10, null=True, default=None)  # completed|declined|no_show|cancelled
    ref_status_date = Date(null=True, default=None)


class EntryVersion(Table):
    """Every version of an entry as submitted, for the reviewer's field-by-field diff."""

    id = Serial(primary_key=True)
    entry = ForeignKey(Entry, index=True)
    version = Integer()
    data = JSON()
    author = ForeignKey(User)
    created_at = Timestamptz(default=TimestamptzNow())


class ReferralEvent(Table):
    """A dated, attributed step of a referral's follow-up; its id is the phone's UUID and the
    id of the step's `entry` row, which carries its review state."""

    id = UUID(primary_key=True)
    referral = ForeignKey(Entry, index=True)
    status = Varchar(length=10)
    outcome = Varchar(length=10, null=True, default=None)
    event_date = Date()
    note = Text(default="")
    author = ForeignKey(User)
    recorded_at = Timestamptz()
    received_at = Timestamptz(default=TimestamptzNow())
    content_hash = Varchar(length=64)


class ChangeCounter(Table):
    """One row per author: the last number of their update feed (server.records.feed_queries)."""

    author = Integer(primary_key=True)
    n = BigInt(default=0)
