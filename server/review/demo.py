"""Demo review work in Hoằng Kim: a queue with an overdue entry and a corrected one (so the
version diff shows), a returned and a rejected entry on bob's to-do list, and approved ones —
all made through the real write path and decisions, so the audit log has them too."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.people.tables import Person, TeamMember
from server.records.queries import submit_record
from server.records.tables import Entry
from server.review import queries
from server.web import CurrentUser


def _who(ids: dict[str, Any], key: str, role: str) -> CurrentUser:
    return CurrentUser(id=ids["users"][key], role=role, name=key, area_id=ids["HK"],
                       area_name="", area_level="commune")


def _visit(person: int, day: dt.date, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"person": person, "date": day.isoformat(), "visit_kind": "home",
                            "met": True, "health": "Sức khỏe ổn định", "work": "Làm phụ hồ",
                            "family": "Gia đình quan tâm", "drug_signs": "none",
                            "methadone": "na", "support": ["counselling"], "risk": "low",
                            "next_step": "Thăm lại tháng sau", "notes": ""}
    data.update(extra)
    return data


async def _submit(user: CurrentUser, kind: str, data: dict[str, Any], *,
                  record_id: uuid.UUID | None = None, version: int = 1,
                  days_ago: float = 0) -> uuid.UUID | None:
    record_id = record_id or uuid.uuid4()
    result = await submit_record(user, kind, record_id, version, dt.datetime.now(dt.UTC), data)
    if result.outcome != "stored":
        return None
    if days_ago:
        await Entry.update({Entry.received_at: dt.datetime.now(dt.UTC)
                            - dt.timedelta(days=days_ago)}).where(Entry.id == record_id)
    return record_id


async def load(ids: dict[str, Any]) -> None:
    alice, bob = _who(ids, "alice", "official"), _who(ids, "bob", "volunteer")
    carol = _who(ids, "carol", "volunteer")
    people = await Person.select(Person.id).where(Person.commune == ids["HK"]).order_by(
        Person.id).limit(6)
    if len(people) < 6:
        return  # the people register's demo did not run
    p = [r["id"] for r in people]
    carols = await TeamMember.select(TeamMember.person).where(
        TeamMember.user == carol.id).order_by(TeamMember.person).first()
    today = dt.datetime.now(dt.UTC).date()
    day = today - dt.timedelta(days=6)
    # Waiting: one overdue, one fresh, one talk.
    await _submit(bob, "visit", _visit(p[0], day), days_ago=5)
    if carols:
        when = today - dt.timedelta(days=1)
        await _submit(carol, "visit", _visit(carols["person"], when, drug_signs="suspected",
                                             risk="medium"))
    await _submit(carol, "talk", {
        "date": (today - dt.timedelta(days=2)).isoformat(), "village": ids["villages"]["HK"][0],
        "setting": "school", "format": "talk", "topics": ["law", "synthetic"],
        "attendees_total": 45, "attendees_women": 20, "attendees_under30": 40,
        "attendees_students": 38, "materials": 50, "notes": ""}, days_ago=1)
    # Returned, then corrected as version 2: back in the queue with a diff.
    fixed = await _submit(bob, "visit", _visit(p[2], day, next_step=""), days_ago=4)
    if fixed:
        await queries.return_entry(alice, fixed, 1, "Ghi rõ bước tiếp theo và nguy cơ.")
        await _submit(bob, "visit", _visit(p[2], day, risk="medium",
                                           next_step="Giới thiệu tư vấn tâm lý"),
                      record_id=fixed, version=2)
    # Bob's to-do list: one returned, one rejected.
    back = await _submit(bob, "visit", _visit(p[3], day, met=False, not_met_reason="not_home"))
    if back:
        await queries.return_entry(alice, back, 1, "Đã hẹn lại ngày nào? Ghi vào bước tiếp theo.")
    dup = await _submit(bob, "visit", _visit(p[4], day))
    if dup:
        await queries.reject_entry(alice, dup, 1, "Trùng với lần thăm đã ghi ngày hôm trước.")
    # Approved history for the person whose visit waits.
    for weeks in (9, 5):
        old = await _submit(bob, "visit", _visit(p[0], today - dt.timedelta(weeks=weeks)))
        if old:
            await queries.approve_entry(alice, old, 1)
