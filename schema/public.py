"""The public page's input shapes and their limits: the page's text and hotline, a planned
talk, and the public details of a provider.

Forms decode into these Structs as plain strings and are then checked by the server as a
whole (every field's error at once, nothing the official typed is lost); the limits below
are the single source of both that check and the HTML attributes of the forms.
"""

from __future__ import annotations

import re

import msgspec

BODY_MAX = 6000
PHONE_MAX = 20
HOURS_MAX = 120
PLACE_MAX = 160
ADDRESS_MAX = 200
PROVIDER_NAME_MAX = 120
# A phone number as people write it: digits with spaces, dots, dashes, brackets, a leading +.
PHONE_PATTERN = r"\+?[0-9][0-9 .()-]{1,18}[0-9]"
TIME_PATTERN = r"([01][0-9]|2[0-3]):[0-5][0-9]"


class PageIn(msgspec.Struct, kw_only=True):
    """What the editor saves as a draft."""

    body_vi: str = ""
    body_en: str = ""
    hotline_number: str = ""
    hotline_hours: str = ""


class PlannedTalkIn(msgspec.Struct, kw_only=True):
    """An upcoming outreach talk: date, optional start time, place, topic (a `Topic` code)."""

    date: str = ""
    start_time: str = ""
    place: str = ""
    topic: str = ""


class ProviderIn(msgspec.Struct, kw_only=True):
    """A provider as officials enter it; `listed` is the checkbox "show on the public page"."""

    name: str = ""
    service: str = ""
    address: str = ""
    hours: str = ""
    phone: str = ""
    listed: str = ""


def text_ok(text: str) -> bool:
    """No control characters but line breaks and tabs: PostgreSQL cannot store NUL, and the
    others are invisible on a public notice."""
    return not any(ord(c) < 32 and c not in "\n\r\t" or 127 <= ord(c) < 160 for c in text)


def phone_ok(text: str) -> bool:
    return re.fullmatch(PHONE_PATTERN, text) is not None


def time_ok(text: str) -> bool:
    return re.fullmatch(TIME_PATTERN, text) is not None
