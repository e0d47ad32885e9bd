"""HTML form fields generated from the record Structs, so a constraint declared once in
`schema/` shows up as the input's attributes (required, maxlength, min, max, pattern).

`form_fields(VisitIn)` returns one `FormField` per Struct field, in declaration order; the
Jinja macro `records/_fields.html` renders them. Reference fields (person, village, provider,
organisation) name their option list in `Meta.extra["widget"]`; the page passes those lists.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from schema.enums import choices
from schema.records import RULES
from schema.text import N_, translated

TEXTAREA_OVER = 200  # strings that may be longer than this get a textarea


@dataclass(frozen=True)
class FormField:
    name: str
    title: str  # English msgid; translated by `label`
    widget: str  # text | textarea | number | date | select | radio | checkboxes | bool | ref…
    required: bool
    attrs: dict[str, Any] = field(default_factory=dict)
    enum: type[enum.Enum] | None = None
    multiple: bool = False
    nullable: bool = False  # None is allowed: a select offers "—"
    show_if: dict[str, Any] | None = None  # asked only when these answers hold (skip logic)
    not_future: bool = False  # a date that cannot be after today in Vietnam

    @property
    def optional(self) -> bool:
        """Worth marking "(optional)": may be left empty (not merely defaulted)."""
        return not self.required and (self.nullable or self.widget in ("text", "textarea"))

    @property
    def label(self) -> str:
        return translated(self.title) if self.title else self.name

    @property
    def choices(self) -> list[tuple[str, str]]:
        return choices(self.enum) if self.enum else []


def _unwrap(t: mi.Type) -> tuple[mi.Type, bool, dict[str, Any], dict[str, Any]]:
    """(inner type, nullable, json-schema extras such as title, our extras)."""
    nullable = False
    schema: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if isinstance(t, mi.UnionType):
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        nullable = len(others) < len(t.types)
        t = others[0]
    if isinstance(t, mi.Metadata):
        schema = dict(t.extra_json_schema or {})
        extra = dict(t.extra or {})
        t = t.type
    return t, nullable, schema, extra


def _attrs(t: mi.Type) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if isinstance(t, mi.StrType):
        if t.max_length is not None:
            attrs["maxlength"] = t.max_length
        if t.min_length:
            attrs["minlength"] = t.min_length
        if t.pattern:
            attrs["pattern"] = t.pattern
    elif isinstance(t, mi.IntType):
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
        high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
        if low is not None:
            attrs["min"] = low
        if high is not None:
            attrs["max"] = high
        attrs["inputmode"] = "numeric"
        attrs["step"] = 1
    return attrs


@cache
def form_fields(cls: type[msgspec.Struct]) -> tuple[FormField, ...]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    out = []
    for f in info.fields:
        t, nullable, schema, extra = _unwrap(f.type)
        widget = extra.get("widget", "")
        enum_cls: type[enum.Enum] | None = None
        multiple = False
        attrs = _attrs(t)
        if isinstance(t, mi.ListType):
            item, _n, _s, _e = _unwrap(t.item_type)
            if isinstance(item, mi.EnumType):
                enum_cls = item.cls
            multiple = True
            widget = widget or "checkboxes"  # or a named list, e.g. "users"
            if t.min_length:
                attrs["data-min-chosen"] = t.min_length
        elif isinstance(t, mi.EnumType):
            enum_cls = t.cls
            widget = widget or "select"
        elif isinstance(t, mi.BoolType):
            widget = "bool"
        elif isinstance(t, mi.DateType):
            widget = "date"
        elif isinstance(t, mi.IntType):
            widget = widget or "number"
        elif isinstance(t, mi.StrType):
            if not widget or widget == "textarea":
                widget = "textarea" if (t.max_length or 0) > TEXTAREA_OVER else "text"
        elif isinstance(t, mi.UUIDType):
            widget = widget or "hidden"
        out.append(FormField(name=f.name, title=schema.get("title", ""), widget=widget,
                             required=f.required, attrs=attrs, enum=enum_cls,
                             multiple=multiple, nullable=nullable,
                             show_if=extra.get("show_if"),
                             not_future=bool(extra.get("not_future"))))
    return tuple(out)


# The field messages, shared by the server's checks (server.records.validation) and the
# phone's (pwa/validate.js, through `form_rules`): one text, whoever finds the error.
MESSAGES = {
    "required": N_("This field is required."),
    "text": N_("Enter text."),
    "max_length": N_("At most %(n)s characters."),
    "format": N_("Not in the expected format."),
    "number": N_("Enter a whole number from %(min)s to %(max)s."),
    "date": N_("Enter a valid date."),
    "choice": N_("Choose one of the options."),
    "min_chosen": N_("Choose at least one."),
    "choices": N_("Choose from the options."),
    "bool": N_("Choose yes or no."),
    "invalid": N_("This value is not valid."),
    "future": N_("The date cannot be in the future."),
    "correct_below": N_("Please correct the fields marked below."),
}


def form_rules(cls: type[msgspec.Struct], today: dt.date) -> dict[str, Any]:
    """What the phone needs to check a record of `cls` as the server would, as JSON for the
    form's `<script type="application/json">` block: each field's type and constraints (from
    the msgspec Meta), its skip logic, the cross-field rules of `schema.records.RULES`, and
    every message translated into the page's language. `today` (Vietnam) lets the phone tell
    how stale a cached blank form is."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields: dict[str, Any] = {}
    for spec, f in zip(form_fields(cls), info.fields, strict=True):
        t, _n, _s, _e = _unwrap(f.type)
        rule: dict[str, Any] = {"label": spec.label, "required": spec.required}
        if isinstance(t, mi.StrType):
            rule.update(type="str", maxLength=t.max_length, minLength=t.min_length or None,
                        pattern=t.pattern)
        elif isinstance(t, mi.IntType):
            rule.update(type="int", min=spec.attrs.get("min"), max=spec.attrs.get("max"))
        elif isinstance(t, mi.DateType):
            rule.update(type="date", notFuture=spec.not_future)
        elif isinstance(t, mi.EnumType):
            rule.update(type="enum", choices=[str(m.value) for m in t.cls])
        elif isinstance(t, mi.ListType):
            rule.update(type="list", minLength=t.min_length or None, maxLength=t.max_length)
        elif isinstance(t, mi.BoolType):
            rule.update(type="bool")
        else:
            rule.update(type="other")
        if spec.show_if:
            rule["showIf"] = {k: _as_text(v) for k, v in spec.show_if.items()}
        fields[f.name] = {k: v for k, v in rule.items() if v is not None}
    rules = [{**r, "message": translated(r["message"]),
              **({"when": {k: _as_text(v) for k, v in r["when"].items()}} if "when" in r else {})}
             for r in RULES.get(cls, ())]
    return {"today": today.isoformat(), "fields": fields, "rules": rules,
            "messages": {k: translated(v) for k, v in MESSAGES.items()}}


def form_values(cls: type[msgspec.Struct], data: dict[str, Any] | None = None) -> \
        dict[str, Any]:
    """What each input shows: the Struct's defaults, overlaid with `data` (as typed)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    values: dict[str, Any] = {}
    for f in info.fields:
        default: Any = ""
        if f.default is not msgspec.NODEFAULT and f.default is not None:
            default = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            default = f.default_factory()
        values[f.name] = default
    for key, value in (data or {}).items():
        if key in values:
            values[key] = value
    return {k: _as_text(v) for k, v in values.items()}


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)
