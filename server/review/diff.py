"""What a reviewer reads: translated labels of entry fields and their coded values, the fields
each kind shows, and the field-by-field diff between two versions of an entry."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from msgspec import inspect

from schema.enums import LABELS, Kind, State
from schema.records import INPUTS
from server import fmt
from server.i18n import N_, _

# The contract's labels (one label per code across the app), by the names the review uses.
KIND_LABELS = LABELS[Kind]
STATE_LABELS = LABELS[State]

FIELD_LABELS = {
    "kind": N_("Kind"), "entry_date": N_("Date"), "village": N_("Village"),
    "person": N_("Person supported"), "notes": N_("Notes"),
    "visit_kind": N_("Kind of visit"), "met": N_("Met the person"),
    "not_met_reason": N_("Why not met"), "health": N_("Health"), "work": N_("Work and income"),
    "family": N_("Family"), "drug_signs": N_("Signs of drug use"),
    "methadone": N_("Methadone adherence"), "support": N_("Support given"),
    "risk": N_("Risk level"), "next_step": N_("Next step"),
    "next_visit_date": N_("Next visit"), "setting": N_("Setting"), "format": N_("Format"),
    "topics": N_("Topics"), "organisation": N_("Organising organisation"),
    "attendees_total": N_("Attendees"), "attendees_women": N_("Women"),
    "attendees_under30": N_("Under 30"), "attendees_students": N_("Students"),
    "materials": N_("Materials distributed"), "contact_alias": N_("Contact alias"),
    "contact_sex": N_("Contact sex"), "contact_age_band": N_("Contact age band"),
    "service": N_("Service"), "provider": N_("Receiving provider"), "reason": N_("Reason"),
    "urgency": N_("Urgency"), "ref_status": N_("Referral status"),
    "ref_outcome": N_("Referral outcome"), "ref_status_date": N_("Status date"),
}

KIND_FIELDS = {
    "visit": ("visit_kind", "met", "not_met_reason", "health", "work", "family", "drug_signs",
              "methadone", "support", "risk", "next_step", "next_visit_date", "notes"),
    "talk": ("setting", "format", "topics", "attendees_total", "attendees_women",
             "attendees_under30", "attendees_students", "materials", "notes"),
    "referral": ("contact_alias", "contact_sex", "contact_age_band", "service", "reason",
                 "urgency", "ref_status", "ref_outcome", "ref_status_date", "notes"),
    "referral_status": ("ref_status", "ref_outcome", "notes"),
}

# Bookkeeping keys of a version snapshot that are not the reviewer's business.
IGNORED = {"id", "client_id", "version", "corrects_version", "content_hash", "receipt",
           "recorded_at", "received_at", "updated_at", "author", "commune", "state"}


@cache
def _schema_fields() -> dict[str, tuple[str, type | None]]:
    """Field name → (label msgid, enum class of its codes) from the record contract in
    `schema.records`, so the review shows the same words as the forms; the tables above
    cover the columns the contract does not name."""
    found: dict[str, tuple[str, type | None]] = {}

    def unwrap(t: Any) -> tuple[str, type | None]:
        title = ""
        while True:
            if isinstance(t, inspect.Metadata):
                title = title or (t.extra_json_schema or {}).get("title", "")
                t = t.type
            elif isinstance(t, inspect.UnionType):
                t = next((x for x in t.types if not isinstance(x, inspect.NoneType)), None)
            elif isinstance(t, inspect.ListType):
                t = t.item_type
            else:
                break
        return title, t.cls if isinstance(t, inspect.EnumType) else None

    for struct in INPUTS.values():
        try:
            info = inspect.type_info(struct)
        except Exception:  # noqa: BLE001 - a contract being edited must not break the review
            continue
        for f in getattr(info, "fields", ()):
            if f.name not in found:
                found[f.name] = unwrap(f.type)
    return found


# Entry columns whose values are coded by a schema field of another name.
COLUMN_FIELDS = {"ref_status": "status", "ref_outcome": "outcome"}


def _enum_label(field: str | None, code: str) -> str | None:
    if not field:
        return None
    enum_cls = _schema_fields().get(COLUMN_FIELDS.get(field, field), ("", None))[1]
    if enum_cls is None:
        return None
    text = LABELS.get(enum_cls, {}).get(code)
    return _(text) if text else None


def _any_label(code: str) -> str | None:
    """A code of a field the contract does not type: the first vocabulary that knows it."""
    text = next((labels[code] for labels in LABELS.values() if code in labels), None)
    return _(text) if text else None


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return _(label) if label else kind


def state_label(state: str) -> str:
    label = STATE_LABELS.get(state)
    return _(label) if label else state


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name) or _schema_fields().get(name, ("", None))[0]
    return _(label) if label else name


def show_value(value: Any, field: str | None = None) -> str:
    """A stored value as a reviewer reads it: codes translated (by the field's vocabulary when
    known), lists joined, empty as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool) or value in ("True", "False", "true", "false"):
        return _("Yes") if value in (True, "True", "true") else _("No")
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v, field) for v in value)
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        try:
            items = json.loads(text)
        except ValueError:
            return text
        return show_value(items, field) if isinstance(items, list) else text
    known = _enum_label(field, text) or _any_label(text)
    return known or fmt.value(value)  # a date reads dd/mm/yyyy


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of the fields that differ, in the order of the new version, then the dropped ones."""
    names = list(new) + [k for k in old if k not in new]
    return [n for n in names if n not in IGNORED and not _same(old.get(n), new.get(n))]


def diff_versions(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The fields that changed between two version snapshots, as (translated label, old value,
    new value)."""
    return [(field_label(n), old.get(n), new.get(n)) for n in changed_fields(old, new)]


def _same(a: Any, b: Any) -> bool:
    empty: tuple[Any, ...] = (None, "", [], "[]", "None")
    if a in empty and b in empty:
        return True
    return a == b or str(a) == str(b)
