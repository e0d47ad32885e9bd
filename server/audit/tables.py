"""The append-only audit log: every read of a person page and every change, hash-chained."""

from piccolo.columns import JSON, BigSerial, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditEvent(Table):
    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = Integer(null=True, index=True)  # app_user.id; plain ints so the log outlives rows
    commune_id = Integer(null=True, index=True)
    action = Varchar(length=40, index=True)  # e.g. person.view, entry.approve, auth.sign_in
    subject_type = Varchar(length=20, default="")
    # `index=True` is what the first migration created; audit_2026_11_28t13_05 drops that
    # index again (no query reads the log by subject). Left declared so Piccolo's migration
    # state and this class agree.
    subject_id = Varchar(length=64, default="", index=True)
    person_id = Integer(null=True, index=True)
    detail = JSON(default="{}")
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64, default="")
