"""Factories over the real tables, for tests that need rows made directly (no HTTP).

Use from sync tests through `tests.conftest.run(...)`, e.g.
`pid = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]]))`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from server.people.tables import CategoryPeriod, Person, TeamMember
from server.records.tables import Entry, EntryVersion

_seq = {"n": 0}


def _fold(text: str) -> str:
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn").lower()


async def make_person(commune: int, *, name: str | None = None, village: int | None = None,
                      category: str = "post_rehab", birth_year: int = 1990, sex: str = "male",
                      team: list[int] | None = None, start: dt.date | None = None,
                      code: str | None = None, status: str = "active") -> int:
    """A person supported; `team[0]` becomes the primary supporter."""
    _seq["n"] += 1
    name = name or f"Người Thử {_seq['n']}"
    start = start or dt.date(2026, 1, 1)
    row = await Person.insert(Person(
        commune=commune, code=code or f"T-{_seq['n']:04d}", full_name=name,
        search_text=_fold(name), birth_year=birth_year, sex=sex, village=village,
        category=category, status=status)).returning(Person.id)
    pid = int(row[0]["id"])
    await CategoryPeriod.insert(CategoryPeriod(person=pid, category=category, start_date=start))
    for i, user in enumerate(team or []):
        await TeamMember.insert(TeamMember(person=pid, user=user,
                                           role="primary" if i == 0 else "member",
                                           start_date=start))
    return pid


async def make_entry(kind: str, *, commune: int, author: int, person: int | None = None,
                     village: int | None = None, entry_date: dt.date | None = None,
                     state: str = "submitted", version: int = 1, **fields: Any) -> uuid.UUID:
    """An entry row as if it had been received from the phone."""
    entry_id = uuid.uuid4()
    entry_date = entry_date or dt.date(2026, 3, 10)
    defaults: dict[str, Any] = {}
    if kind == "visit":
        defaults = {"visit_kind": "home", "met": True, "drug_signs": "none", "risk": "low",
                    "support": "[]"}
    elif kind == "talk":
        defaults = {"setting": "community", "format": "talk", "topics": "[]",
                    "attendees_total": 20, "attendees_women": 8, "attendees_under30": 5,
                    "attendees_students": 0}
    elif kind == "referral":
        defaults = {"service": "health_station", "urgency": "normal", "ref_status": "referred",
                    "ref_status_date": entry_date}
    defaults.update(fields)
    digest = hashlib.sha256(str(entry_id).encode()).hexdigest()
    now = dt.datetime.now(dt.UTC)
    await Entry.insert(Entry(
        id=entry_id, kind=kind, commune=commune, village=village, author=author, person=person,
        entry_date=entry_date, recorded_at=now, version=version, state=state,
        content_hash=digest, receipt=digest[:8].upper(), **defaults))
    await EntryVersion.insert(EntryVersion(entry=entry_id, version=version,
                                           data={"kind": kind, **{k: str(v) for k, v in
                                                                  defaults.items()}},
                                           author=author))
    return entry_id
