"""The field records as the data contract: one declaration per kind drives server validation,
the HTML form (fields, labels and constraint attributes, see `schema.forms`), the JSON API
bodies and the OpenAPI / JSON Schema.

Input shapes (`VisitIn`, `TalkIn`, `ReferralIn`, `ReferralStatusIn`) are what a form or the
phone's outbox sends as `data`; output shapes (`VisitOut`, …) add what the server keeps about
the entry. Meta `title` is the English label msgid (translated where shown); `extra["widget"]`
names a form widget a bare type cannot imply (a reference list, a textarea, radio buttons).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, get_args

import msgspec

from schema.enums import (
    AgeBand,
    Asker,
    Channel,
    CounselAction,
    CounselTopic,
    DrugSigns,
    Methadone,
    NotMetReason,
    RefOutcome,
    RefStatus,
    Risk,
    Service,
    Setting,
    Sex,
    State,
    Support,
    TalkFormat,
    Topic,
    TrainingTopic,
    Urgency,
    VisitKind,
)
from schema.text import N_

MAX_PEOPLE = 100_000  # attendees of one session: generous, but bounded


def _m(title: str, **kw: Any) -> msgspec.Meta:
    extra = kw.pop("extra", None)
    return msgspec.Meta(title=title, extra=extra, **kw)


Date = Annotated[dt.date, _m(N_("Date"))]


def _day(title: str) -> Any:
    """A date that cannot be after today in Vietnam (checked on the server and the phone)."""
    return Annotated[dt.date, _m(title, extra={"not_future": True})]
PersonRef = Annotated[int, _m(N_("Person supported"), ge=1, le=2**31 - 1,
                              extra={"widget": "person"})]
ShortText = Annotated[str, _m(N_("Text"), max_length=500)]


def _text(title: str, max_length: int, widget: str = "textarea") -> Any:
    return Annotated[str, _m(title, max_length=max_length, extra={"widget": widget})]


def _count(title: str) -> Any:
    return Annotated[int, _m(title, ge=0, le=MAX_PEOPLE)]


class VisitIn(msgspec.Struct, kw_only=True):
    person: PersonRef
    date: _day(N_("Date of the visit"))  # type: ignore[valid-type]
    visit_kind: Annotated[VisitKind, _m(N_("Kind of contact"), extra={"widget": "radio"})] = \
        VisitKind.home
    met: Annotated[bool, _m(N_("Met the person?"))] = True
    # Asked only when the person was not met (skip logic: `show_if`, see schema.forms).
    not_met_reason: Annotated[NotMetReason, _m(N_("Why not met"),
                                               extra={"show_if": {"met": False}})] | None = None
    health: _text(N_("Health"), 1000) = ""  # type: ignore[valid-type]
    work: _text(N_("Work and income"), 1000) = ""  # type: ignore[valid-type]
    family: _text(N_("Family"), 1000) = ""  # type: ignore[valid-type]
    drug_signs: Annotated[DrugSigns, _m(N_("Signs of drug use"),
                                        extra={"widget": "radio"})] = DrugSigns.none
    # Asked only of a person on methadone: "person.category" is the chosen person's category,
    # which the form's person picker carries (online and on the phone's cached caseload).
    methadone: Annotated[Methadone, _m(N_("Methadone adherence"), extra={
        "show_if": {"person.category": "methadone"}})] = Methadone.na
    support: Annotated[list[Support], _m(N_("Support given"), max_length=len(Support))] = \
        msgspec.field(default_factory=list)
    risk: Annotated[Risk, _m(N_("Risk level"), extra={"widget": "radio"})] = Risk.low
    next_step: _text(N_("Next step"), 500) = ""  # type: ignore[valid-type]
    next_visit_date: Annotated[dt.date, _m(N_("Next visit date"))] | None = None
    notes: _text(N_("Notes"), 2000) = ""  # type: ignore[valid-type]


class TalkIn(msgspec.Struct, kw_only=True):
    date: _day(N_("Date of the session"))  # type: ignore[valid-type]
    village: Annotated[int, _m(N_("Village"), ge=1, le=2**31 - 1, extra={"widget": "village"})]
    setting: Annotated[Setting, _m(N_("Setting"))] = Setting.community
    format: Annotated[TalkFormat, _m(N_("Format"))] = TalkFormat.talk
    topics: Annotated[list[Topic], _m(N_("Topics"), min_length=1, max_length=len(Topic))]
    organisation: Annotated[int, _m(N_("Organising organisation"), ge=1, le=2**31 - 1,
                                    extra={"widget": "organisation"})] | None = None
    attendees_total: _count(N_("Attendees in total"))  # type: ignore[valid-type]
    attendees_women: _count(N_("of whom women")) = 0  # type: ignore[valid-type]
    attendees_under30: _count(N_("of whom under 30")) = 0  # type: ignore[valid-type]
    attendees_students: _count(N_("of whom students")) = 0  # type: ignore[valid-type]
    materials: _count(N_("Materials distributed")) = 0  # type: ignore[valid-type]
    notes: _text(N_("Notes"), 2000) = ""  # type: ignore[valid-type]


class ReferralIn(msgspec.Struct, kw_only=True):
    person: Annotated[int, _m(N_("Person supported"), ge=1, le=2**31 - 1,
                              extra={"widget": "person"})] | None = None
    contact_alias: Annotated[str, _m(N_("Or an unregistered contact: alias"),
                                     max_length=60)] = ""
    contact_sex: Annotated[Sex, _m(N_("Contact's sex"))] | None = None
    contact_age_band: Annotated[AgeBand, _m(N_("Contact's age band"))] | None = None
    date: _day(N_("Date of the referral"))  # type: ignore[valid-type]
    service: Annotated[Service, _m(N_("Service"))]
    provider: Annotated[int, _m(N_("Receiving provider"), ge=1, le=2**31 - 1,
                                extra={"widget": "provider"})] | None = None
    reason: Annotated[str, _m(N_("Reason"), min_length=1, max_length=1000,
                              extra={"widget": "textarea"})]
    urgency: Annotated[Urgency, _m(N_("Urgency"), extra={"widget": "radio"})] = Urgency.normal
    notes: _text(N_("Notes"), 2000) = ""  # type: ignore[valid-type]


class ReferralStatusIn(msgspec.Struct, kw_only=True):
    referral: Annotated[uuid.UUID, _m(N_("Referral"), extra={"widget": "hidden"})]
    status: Annotated[RefStatus, _m(N_("New status"))]
    outcome: Annotated[RefOutcome, _m(N_("Outcome (when closed)"),
                                      extra={"show_if": {"status": "closed"}})] | None = None
    date: _day(N_("Date of this step"))  # type: ignore[valid-type]
    note: _text(N_("Note"), 500) = ""  # type: ignore[valid-type]


INPUTS: dict[str, type[msgspec.Struct]] = {
    "visit": VisitIn, "talk": TalkIn, "referral": ReferralIn,
    "referral_status": ReferralStatusIn,
}


# ---------------------------------------------------------------- API envelopes and outputs


# The one bound of a record's version, wherever a record comes in (HTML form, JSON API, sync):
# no record is corrected a thousand times, and a bound keeps the number a small integer.
MAX_VERSION = 1000


class Envelope(msgspec.Struct, kw_only=True):
    """What every incoming record carries besides its `data`, on every channel."""

    id: Annotated[uuid.UUID, msgspec.Meta(description="Client UUID made when the form opened")]
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION, description="1, or current + 1 "
                                         "to correct a submitted or returned entry")] = 1
    recorded_at: Annotated[dt.datetime, msgspec.Meta(
        description="Device time of recording (ISO 8601, with offset)")] | None = None


class VisitSubmit(Envelope, kw_only=True):
    data: VisitIn


class TalkSubmit(Envelope, kw_only=True):
    data: TalkIn


class ReferralSubmit(Envelope, kw_only=True):
    data: ReferralIn


class ReferralStatusSubmit(Envelope, kw_only=True):
    data: ReferralStatusIn


SUBMITS: dict[str, type[msgspec.Struct]] = {
    "visit": VisitSubmit, "talk": TalkSubmit, "referral": ReferralSubmit,
    "referral_status": ReferralStatusSubmit,
}


class SubmitResult(msgspec.Struct):
    """What every write answers, from the HTML forms, the JSON API and sync alike."""

    outcome: str  # "stored" | "unchanged" | "conflict" | "invalid" | "forbidden"
    state: str | None = None  # review state of the entry after this call
    receipt: str | None = None  # short human-readable receipt, e.g. "HK-7F3A9C21"
    version: int | None = None  # server's current version of the record
    errors: dict[str, str] = msgspec.field(default_factory=dict)


RecordKind = Literal["visit", "talk", "referral", "referral_status", "training",
                     "counselling"]
RECORD_KINDS: tuple[str, ...] = get_args(RecordKind)


class SyncRecord(Envelope, kw_only=True):
    """One record of the phone's outbox: the same envelope as the JSON API, with its kind and
    its `data` (checked field by field by the write path, so every error comes back at once)."""

    kind: RecordKind
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class SyncResult(SubmitResult, kw_only=True):
    """The answer to one record of a sync batch: `SubmitResult` with the record's id, plus
    the outcome `retry` and its reason.

    What the phone does with each outcome:
      stored / unchanged  the server holds the record: keep only its receipt and state
      conflict / invalid / forbidden  a person must act (fix or discard): "needs attention"
      retry               the server could not store it for a reason that is not the
                          record's (a locked database, a dropped connection): keep it waiting
                          and send it again by itself, with backoff"""

    id: str
    # Why a `retry` happened, in the user's language (empty for the other outcomes).
    reason: str = ""



class ErrorsOut(msgspec.Struct):
    errors: dict[str, str]


class EntryMeta(msgspec.Struct, kw_only=True):
    """What the server keeps about an entry besides its content."""

    id: uuid.UUID
    state: State
    version: int
    receipt: str
    author: int
    author_name: str = ""
    recorded_at: dt.datetime
    received_at: dt.datetime
    review_comment: str = ""


class ReferralStep(msgspec.Struct, kw_only=True):
    status: RefStatus
    outcome: RefOutcome | None = None
    date: dt.date
    note: str = ""
    author: int
    author_name: str = ""
    # Each step after "referred" is reviewed; a rejected one does not count.
    state: State | None = None


class FollowUp(msgspec.Struct, kw_only=True):
    status: RefStatus = RefStatus.referred
    outcome: RefOutcome | None = None
    date: dt.date | None = None
    steps: list[ReferralStep] = msgspec.field(default_factory=list)


class VisitOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="visit"):
    meta: EntryMeta
    data: VisitIn


class TalkOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="talk"):
    meta: EntryMeta
    data: TalkIn


class ReferralOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="referral"):
    meta: EntryMeta
    data: ReferralIn
    follow_up: FollowUp


class ReferralStatusOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="referral_status"):
    """A step of a referral's follow-up, an entry of its own (reviewed like any other)."""

    meta: EntryMeta
    data: ReferralStatusIn


EntryOut = VisitOut | TalkOut | ReferralOut | ReferralStatusOut
OUTPUTS: dict[str, type[msgspec.Struct]] = {"visit": VisitOut, "talk": TalkOut,
                                            "referral": ReferralOut,
                                            "referral_status": ReferralStatusOut}


# ---------------------------------------------------------------- training and counselling
# Recorded by officials and the volunteers their commune names (server.training,
# server.counselling); same envelope, write path, review and sync as the kinds above.

MAX_PARTICIPANTS = 500
UserRef = Annotated[int, _m(N_("User"), ge=1, le=2**31 - 1)]


class TrainingIn(msgspec.Struct, kw_only=True):
    date: _day(N_("Date of the training"))  # type: ignore[valid-type]
    title: Annotated[str, _m(N_("Title"), min_length=1, max_length=200)]
    topics: Annotated[list[TrainingTopic], _m(N_("Topics"), min_length=1,
                                              max_length=len(TrainingTopic))]
    organisation: Annotated[int, _m(N_("Organiser"), ge=1, le=2**31 - 1,
                                    extra={"widget": "organisation"})] | None = None
    trainer: Annotated[str, _m(N_("Trainer"), max_length=120)] = ""
    place: Annotated[str, _m(N_("Place"), max_length=200)] = ""
    participants: Annotated[list[UserRef], _m(N_("Participants from the commune"),
                                              max_length=MAX_PARTICIPANTS,
                                              extra={"widget": "users"})] = \
        msgspec.field(default_factory=list)
    others_count: _count(N_("Other participants (not users of the app)")) = 0  # type: ignore[valid-type]
    notes: _text(N_("Notes"), 2000) = ""  # type: ignore[valid-type]


class CounsellingIn(msgspec.Struct, kw_only=True):
    """A counselling contact. There is deliberately no field for a caller's name or number:
    the only identity it can hold is a registered person, and never for an anonymous caller."""

    date: _day(N_("Date of the contact"))  # type: ignore[valid-type]
    time: Annotated[str, _m(N_("Time"), pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                            extra={"widget": "time"})]
    channel: Annotated[Channel, _m(N_("Channel"), extra={"widget": "radio"})] = Channel.hotline
    asker: Annotated[Asker, _m(N_("Who asked"), extra={"widget": "radio"})]
    person: Annotated[int, _m(N_("Registered person"), ge=1, le=2**31 - 1,
                              extra={"widget": "person"})] | None = None
    topics: Annotated[list[CounselTopic], _m(N_("Topics"), min_length=1,
                                             max_length=len(CounselTopic))]
    actions: Annotated[list[CounselAction], _m(N_("What was done"), min_length=1,
                                               max_length=len(CounselAction))]
    referral: Annotated[uuid.UUID, _m(N_("The referral made"),
                                      extra={"widget": "referral"})] | None = None
    follow_up: Annotated[bool, _m(N_("Follow-up needed?"))] = False
    follow_up_note: Annotated[str, _m(N_("What to follow up"), max_length=500, extra={
        "widget": "textarea", "show_if": {"follow_up": True}})] = ""
    notes: _text(N_("Notes"), 2000) = ""  # type: ignore[valid-type]


class TrainingSubmit(Envelope, kw_only=True):
    data: TrainingIn


class CounsellingSubmit(Envelope, kw_only=True):
    data: CounsellingIn


class TrainingOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="training"):
    meta: EntryMeta
    data: TrainingIn


class CounsellingOut(msgspec.Struct, kw_only=True, tag_field="kind", tag="counselling"):
    meta: EntryMeta
    data: CounsellingIn


INPUTS.update(training=TrainingIn, counselling=CounsellingIn)
SUBMITS.update(training=TrainingSubmit, counselling=CounsellingSubmit)
OUTPUTS.update(training=TrainingOut, counselling=CounsellingOut)
EntryOut = (VisitOut | TalkOut | ReferralOut  # type: ignore[assignment,misc]
            | ReferralStatusOut | TrainingOut | CounsellingOut)


# ---------------------------------------------------------------- rules across fields
# Declared once: the server applies them (server.records.validation.check_rules) and every form
# carries them to the phone in its rules block (schema.forms.form_rules), where pwa/validate.js
# checks a record before it enters the outbox, offline too, with the same messages.
#   required — `field` must be given when every answer in `when` holds;
#   not_more — `field` may not exceed `other` (message gets %(n)s = other's value);
#   after — the date `field` must be after the date `other`;
#   within_days — the date `field` at most `days` days after the date `other`.

PARTS = ("attendees_women", "attendees_under30", "attendees_students")
RULES: dict[type[msgspec.Struct], tuple[dict[str, Any], ...]] = {
    VisitIn: (
        {"check": "required", "field": "not_met_reason", "when": {"met": False},
         "message": N_("Say why you did not meet.")},
        {"check": "after", "field": "next_visit_date", "other": "date",
         "message": N_("The next visit must be after this one.")},
        {"check": "within_days", "field": "next_visit_date", "other": "date", "days": 366,
         "message": N_("Plan the next visit within a year.")},
    ),
    TalkIn: tuple({"check": "not_more", "field": part, "other": "attendees_total",
                   "message": N_("Cannot be more than the total (%(n)s).")} for part in PARTS),
}
