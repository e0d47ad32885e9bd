"""Passkey credentials, enrolment invitations, single-use challenges, server-side sessions and
the sign-in rate limit's counts."""

from piccolo.columns import BigInt, Bytea, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.areas.tables import User


class Credential(Table):
    id = Serial(primary_key=True)
    user = ForeignKey(User, index=True)
    credential_id = Varchar(length=512, unique=True)  # base64url of the raw id
    public_key = Bytea()
    sign_count = Integer(default=0)
    label = Varchar(length=120, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)  # sha256 of the token: the link is the secret
    user = ForeignKey(User, index=True)
    created_by = ForeignKey(User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class Challenge(Table):
    id = Serial(primary_key=True)
    challenge = Varchar(length=128, unique=True)  # base64url
    purpose = Varchar(length=10)  # register | login
    user = ForeignKey(User, null=True)
    expires_at = Timestamptz()


class Session(Table, tablename="app_session"):
    id = Serial(primary_key=True)
    key = Varchar(length=128, unique=True)
    data = Text()
    user = ForeignKey(User, null=True, index=True)
    expires_at = Timestamptz(index=True)


class SignInAttempts(Table, tablename="sign_in_attempts"):
    """Sign-in ceremonies per client address in its current window (the rate limit), shared
    by every app process."""

    id = Serial(primary_key=True)
    bucket = Varchar(length=255, unique=True)
    hits = Integer(default=0)
    reset_at = BigInt(index=True)  # epoch seconds: when the window ends
