"""Checking a record's fields: every error at once, translated, keyed by field name.

msgspec stops at the first error, so each field is converted on its own against its annotated
type from `schema/` (the same constraints the form and the JSON Schema show); the message is
chosen from the constraint that failed. Checks that need the database (dates against the
register, attendee parts, access) live in `server.records.queries`.
"""

from __future__ import annotations

import datetime as dt
import typing
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import msgspec.inspect as mi

from schema.forms import _unwrap
from server.i18n import _

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn_today() -> dt.date:
    return dt.datetime.now(VN).date()


def vn_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN).date()


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
            return _("Enter text.")
        if inner.max_length is not None and len(value) > inner.max_length:
            return _("At most %(n)s characters.") % {"n": inner.max_length}
        if inner.min_length and len(value) < inner.min_length:
            return _("This field is required.")
        return _("Not in the expected format.")
    if isinstance(inner, mi.IntType):
        return _("Enter a whole number from %(min)s to %(max)s.") % {
            "min": inner.ge if inner.ge is not None else "", "max": inner.le
            if inner.le is not None else ""}
    if isinstance(inner, mi.DateType):
        return _("Enter a valid date.")
    if isinstance(inner, mi.EnumType):
        return _("Choose one of the options.")
    if isinstance(inner, mi.ListType):
        if isinstance(value, list) and inner.min_length and len(value) < inner.min_length:
            return _("Choose at least one.")
        return _("Choose from the options.")
    if isinstance(inner, mi.BoolType):
        return _("Choose yes or no.")
    return _("This value is not valid.")


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
    cleaned: dict[str, Any] = {}
    for f in _fields(cls):
        value = _clean(data.get(f.name))
        if _has_nul(value):  # nobody types a NUL, and PostgreSQL cannot store one
            errors[f.name] = _("This value is not valid.")
            continue
        if value is None or value == "":
            if f.required:
                errors[f.name] = _("This field is required.")
            continue
        try:
            cleaned[f.name] = msgspec.convert(value, hints[f.name], strict=False)
        except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
            errors[f.name] = _message(f.type, value)
    if errors:
        return None, errors, cleaned
    try:
        return msgspec.convert(cleaned, cls, strict=False), {}, cleaned
    except (msgspec.ValidationError, TypeError, ValueError) as exc:  # pragma: no cover
        return None, {"_": str(exc)}, cleaned
