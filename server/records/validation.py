"""Checking a record's fields: every error at once, translated, keyed by field name.

msgspec stops at the first error, so each field is converted on its own against its annotated
type from `schema/` (the same constraints the form and the JSON Schema show); the message is
chosen from the constraint that failed. Then the rules declared in `schema/` beyond one
field's type (dates not after today, `schema.records.RULES`) — the same ones, with the same
messages, that the phone applies before a record enters its outbox (pwa/validate.js).
Checks that need the database (dates against the register, access) live in
`server.records.queries`.
"""

from __future__ import annotations

import datetime as dt
import typing
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from schema.forms import MESSAGES, _as_text, _unwrap, form_fields
from schema.records import RULES
from server.i18n import _
from server.vntime import today as vn_today


@cache
def _hints(cls: type[msgspec.Struct]) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


@cache
def _fields(cls: type[msgspec.Struct]) -> tuple[mi.Field, ...]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return info.fields


def _message(t: mi.Type, value: Any) -> str:
    inner, _nullable, _s, _e = _unwrap(t)
    if isinstance(inner, mi.StrType):
        if not isinstance(value, str):
            return _(MESSAGES["text"])
        if inner.max_length is not None and len(value) > inner.max_length:
            return _(MESSAGES["max_length"]) % {"n": inner.max_length}
        if inner.min_length and len(value) < inner.min_length:
            return _(MESSAGES["required"])
        return _(MESSAGES["format"])
    if isinstance(inner, mi.IntType):
        return _(MESSAGES["number"]) % {
            "min": inner.ge if inner.ge is not None else "", "max": inner.le
            if inner.le is not None else ""}
    if isinstance(inner, mi.DateType):
        return _(MESSAGES["date"])
    if isinstance(inner, mi.EnumType):
        return _(MESSAGES["choice"])
    if isinstance(inner, mi.ListType):
        if isinstance(value, list) and inner.min_length and len(value) < inner.min_length:
            return _(MESSAGES["min_chosen"])
        return _(MESSAGES["choices"])
    if isinstance(inner, mi.BoolType):
        return _(MESSAGES["bool"])
    return _(MESSAGES["invalid"])


# Values taken as they are (no text in them to trim): what JSON gives besides text and lists.
_PLAIN = frozenset((int, float, bool, type(None), dict))
_TEXT_OR_LIST = (str, list)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list) and any(_has_nul(v) for v in value)


def validate_fields(cls: type[msgspec.Struct], data: Any) -> \
        tuple[msgspec.Struct | None, dict[str, str], dict[str, Any]]:
    """Convert `data` into `cls`, or say what is wrong with every field.

    Also returns the converted values of the fields that were fine, so later checks (dates
    against the register, attendee parts) can add their errors next to these.
    """
    if not isinstance(data, dict):
        return None, {"_": _("The record is not valid.")}, {}
    hints = _hints(cls)
    errors: dict[str, str] = {}
    present: dict[str, Any] = {}
    get = data.get
    for name, required in _names(cls):
        value: Any = get(name)
        # Text trimmed, and refused with a NUL (nobody types one, and PostgreSQL cannot store
        # it); the plain text of a record, most of its values, without a call per value.
        kind = type(value)
        if kind is str:
            value = value.strip()
            if "\x00" in value:
                errors[name] = _(MESSAGES["invalid"])
                continue
        elif kind is list or (kind not in _PLAIN and isinstance(value, _TEXT_OR_LIST)):
            value = _clean(value)
            if _has_nul(value):
                errors[name] = _(MESSAGES["invalid"])
                continue
        if value is None or value == "":
            if required:
                errors[name] = _(MESSAGES["required"])
            continue
        present[name] = value
    if not errors and _plain_names(cls):
        # Most records are valid: convert the whole record at once (a sync batch of 100
        # visits: 100 conversions instead of ~1,000). Only when that fails is each field
        # converted on its own below, to name every field's error.
        try:
            obj = msgspec.convert(present, cls, strict=False)
        except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
            pass
        else:
            typed = {name: getattr(obj, name) for name in present}
            check_rules(cls, typed, errors)
            return (None, errors, typed) if errors else (obj, {}, typed)
    cleaned: dict[str, Any] = {}
    for f in _fields(cls):
        if f.name not in present:
            continue
        try:
            cleaned[f.name] = msgspec.convert(present[f.name], hints[f.name], strict=False)
        except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
            errors[f.name] = _message(f.type, present[f.name])
    check_rules(cls, cleaned, errors)
    if errors:
        return None, errors, cleaned
    try:
        return msgspec.convert(cleaned, cls, strict=False), {}, cleaned
    except (msgspec.ValidationError, TypeError, ValueError) as exc:  # pragma: no cover
        return None, {"_": str(exc)}, cleaned


@cache
def _names(cls: type[msgspec.Struct]) -> tuple[tuple[str, bool], ...]:
    """Each field's name and whether it is required, looked up once per class."""
    return tuple((f.name, f.required) for f in _fields(cls))


@cache
def _plain_names(cls: type[msgspec.Struct]) -> bool:
    """Whether every field is named in the data as in the Struct (no renamed field), so
    the data converts as a whole."""
    return all(f.name == f.encode_name for f in _fields(cls))


@cache
def _not_future(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of `cls` whose date cannot be after today (looked up once per class, not
    once per record of a sync batch)."""
    return tuple(spec.name for spec in form_fields(cls) if spec.not_future)


def check_rules(cls: type[msgspec.Struct], typed: dict[str, Any], errors: dict[str, str]) -> None:
    """The declared checks beyond one field's type, on the converted values; a field that
    already has an error keeps it (one error per field)."""
    names = _not_future(cls)
    today = vn_today() if names else None
    for name in names:
        day = typed.get(name)
        if today is not None and name not in errors and isinstance(day, dt.date) \
                and day > today:
            errors[name] = _(MESSAGES["future"])
    for rule in RULES.get(cls, ()):
        name, other = rule["field"], rule.get("other", "")
        if name in errors or other in errors:
            continue
        value, against = typed.get(name), typed.get(other)
        check = rule["check"]
        if check == "required":
            when = all(_as_text(typed.get(k)) == _as_text(v) for k, v in rule["when"].items())
            if when and value in (None, "", []):
                errors[name] = _(rule["message"])
        elif check == "not_more":
            if isinstance(value, int) and isinstance(against, int) and value > against:
                errors[name] = _(rule["message"]) % {"n": against}
        elif isinstance(value, dt.date) and isinstance(against, dt.date):
            if check == "after" and value <= against:
                errors[name] = _(rule["message"])
            elif check == "within_days" and value > against + dt.timedelta(days=rule["days"]):
                errors[name] = _(rule["message"])
