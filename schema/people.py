"""The people register's forms: what an official types, all strings, so nothing typed is lost
when the page comes back with errors. The checks that report every field's problem at once
(msgspec would stop at the first), and that need today's date and the commune's villages, are
`server.people.forms`; the codes these fields take and their labels are `schema.enums`
(`Sex`, `Category`, `EndReason`)."""

from __future__ import annotations

import msgspec


class PersonIn(msgspec.Struct):
    full_name: str = ""
    birth_year: str = ""
    sex: str = ""
    village: str = ""
    phone: str = ""
    address: str = ""
    notes: str = ""
    # Only on creation: the first category period.
    category: str = ""
    start_date: str = ""
    planned_end: str = ""
    after_compulsory: str = ""


class CategoryIn(msgspec.Struct):
    category: str = ""
    start_date: str = ""
    planned_end: str = ""
    after_compulsory: str = ""
    previous_reason: str = "completed"


class CloseIn(msgspec.Struct):
    end_date: str = ""
    reason: str = ""


class TeamIn(msgspec.Struct):
    user_id: str = ""
    role: str = "member"


class SettingsIn(msgspec.Struct):
    visit_frequency_days: str = ""
