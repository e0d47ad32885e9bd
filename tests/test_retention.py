"""The retention job: people past RETENTION_YEARS_AFTER_SUPPORT are anonymised — name, phone,
address and free text gone from the register, their entries, the stored versions, referral
steps and finalised reports — while every report figure stays the same; audited, chain intact.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import IS_PG, run
from tests.factories import make_entry, make_person

TODAY = dt.date(2026, 11, 28)
SECRET_WORDS = ("Nguyễn Văn Tuấn", "0912345678", "Xóm Đồi", "mẹ anh Tuấn", "Ho kéo dài",
                "Ghi chú riêng", "Tư vấn việc làm ở xưởng")


def _ended(person_id: int, end: dt.date) -> None:
    from server.people.tables import CategoryPeriod, Person

    run(CategoryPeriod.update({CategoryPeriod.actual_end: end,
                               CategoryPeriod.end_reason: "completed"}).where(
        CategoryPeriod.person == person_id))
    run(Person.update({Person.status: "ended"}).where(Person.id == person_id))


def _setup(world: dict[str, Any]) -> dict[str, Any]:
    from server.people.tables import Person
    from server.records.tables import ReferralEvent

    a, bob = world["A"], world["bob"]
    village = world["villages"]["HK"][0]
    old = run(make_person(a, name="Nguyễn Văn Tuấn", village=village, team=[bob],
                          start=dt.date(2018, 1, 1)))
    run(Person.update({Person.phone: "0912345678", Person.address: "Xóm Đồi",
                       Person.notes: "Ghi chú riêng"}).where(Person.id == old))
    _ended(old, dt.date(2019, 6, 30))
    recent = run(make_person(a, name="Lê Văn Gần", village=village, team=[bob],
                             start=dt.date(2023, 1, 1)))
    _ended(recent, dt.date(2025, 6, 30))
    active = run(make_person(a, name="Trần Văn Đang", village=village, team=[bob],
                             start=dt.date(2018, 1, 1)))
    visits = [run(make_entry("visit", commune=a, author=bob, person=old, village=village,
                             entry_date=dt.date(2019, 2, d), state="approved",
                             notes="Gặp mẹ anh Tuấn", health="Ho kéo dài",
                             next_step="Tư vấn việc làm ở xưởng", drug_signs="suspected"))
              for d in (3, 17)]
    referral = run(make_entry("referral", commune=a, author=bob, person=old, village=village,
                              entry_date=dt.date(2019, 3, 1), state="approved",
                              reason="Ho kéo dài"))
    run(ReferralEvent.insert(ReferralEvent(
        id=uuid.uuid4(), referral=referral, status="received", event_date=dt.date(2019, 3, 5),
        note="Ghi chú riêng", author=bob, recorded_at=dt.datetime(2019, 3, 5, tzinfo=dt.UTC),
        content_hash="x" * 64)))
    run(make_entry("visit", commune=a, author=bob, person=active, village=village,
                   entry_date=dt.date(2019, 2, 10), state="approved", notes="Vẫn theo dõi"))
    return {"old": old, "recent": recent, "active": active, "visits": visits,
            "referral": referral}


def _report(world: dict[str, Any]) -> dict[str, Any]:
    from server.reports.build import build_report, flatten
    from server.reports.periods import custom

    area = {"id": world["A"], "name": "Xã Hoằng Kim", "level": "commune"}
    report = run(build_report(area, custom(dt.date(2018, 12, 1), dt.date(2019, 11, 30)),
                              detail=False))
    return flatten(report)


def _finalise(world: dict[str, Any], people: dict[str, Any]) -> int:
    """A finalised 2019 report whose overdue list named the person at the time."""
    from server.reports.build import build_report
    from server.reports.finals import finalise_report
    from server.reports.periods import custom
    from server.web import CurrentUser

    alice = CurrentUser(id=world["alice"], role="official", name="Alice", area_id=world["A"],
                        area_name="Xã Hoằng Kim", area_level="commune")
    area = {"id": world["A"], "name": "Xã Hoằng Kim", "level": "commune"}
    period = custom(dt.date(2018, 12, 1), dt.date(2019, 5, 31))
    data = run(build_report(area, period, detail=True))
    data["overdue"] = [{"id": people["old"], "code": "T-OLD", "name": "Nguyễn Văn Tuấn",
                        "category": "post_rehab", "last_visit": "2019-02-17", "days": 40}]
    return int(run(finalise_report(alice, area, period, data))["id"])


def _dump_person(person_id: int) -> str:
    """Every stored row about the person, as one text to search for what identifies them."""
    from server.people.tables import Person
    from server.records.tables import Entry, EntryVersion, ReferralEvent
    from server.reports.tables import FinalReport

    ids = [e["id"] for e in run(Entry.select(Entry.id).where(Entry.person == person_id))]
    rows = [run(Person.select().where(Person.id == person_id)),
            run(Entry.select().where(Entry.person == person_id)),
            run(EntryVersion.select().where(EntryVersion.entry.is_in(ids))),
            run(ReferralEvent.select().where(ReferralEvent.referral.is_in(ids))),
            run(FinalReport.select())]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_anonymises_only_past_the_period_and_keeps_the_figures(world):
    from server.audit.queries import verify_chain
    from server.people.tables import Person
    from server.privacy.retention import run_retention

    people = _setup(world)
    report_id = _finalise(world, people)
    before = _report(world)
    assert before  # the 2019 figures are not empty
    assert all(w in _dump_person(people["old"]) for w in SECRET_WORDS)

    lines: list[str] = []
    due = run(run_retention(today=TODAY, years=5, dry_run=True, log=lines.append))
    assert [p["id"] for p in due] == [people["old"]]
    assert "would anonymise" in lines[1] and "Nguyễn" not in "\n".join(lines)
    assert all(w in _dump_person(people["old"]) for w in SECRET_WORDS)  # dry run: unchanged

    due = run(run_retention(today=TODAY, years=5, dry_run=False, log=lines.append))
    assert [p["id"] for p in due] == [people["old"]]
    text = _dump_person(people["old"])
    assert [w for w in SECRET_WORDS if w in text] == []
    person = run(Person.select().where(Person.id == people["old"]).first())
    assert (person["full_name"], person["phone"], person["address"], person["notes"]) == \
        ("", "", "", "")
    assert (person["birth_year"], person["sex"], person["category"]) == (1990, "male", "post_rehab")

    assert _report(world) == before  # every figure of the period is the same
    from server.reports.tables import FinalReport

    final = run(FinalReport.select(FinalReport.data).where(FinalReport.id == report_id).first())
    data = json.loads(final["data"]) if isinstance(final["data"], str) else final["data"]
    assert data["overdue"][0]["name"] == "" and data["overdue"][0]["code"] == "T-OLD"

    # The others are untouched.
    names = {r["id"]: r["full_name"] for r in run(Person.select(Person.id, Person.full_name))}
    assert names[people["recent"]] == "Lê Văn Gần" and names[people["active"]] == "Trần Văn Đang"

    # Audited in the chain, without personal data; a second run finds nobody.
    from server.audit.tables import AuditEvent

    rows = run(AuditEvent.select().where(AuditEvent.action == "person.anonymise"))
    assert [r["person_id"] for r in rows] == [people["old"]]
    detail = rows[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"support_ended": "2019-06-30", "entries": 3}
    assert not any(w in json.dumps(rows, default=str, ensure_ascii=False) for w in SECRET_WORDS)
    assert run(verify_chain())[1] is None
    assert run(run_retention(today=TODAY, years=5, dry_run=False, log=lines.append)) == []


def test_a_person_with_an_open_period_is_never_due(world):
    from server.people.tables import CategoryPeriod
    from server.privacy.queries import list_due_for_anonymisation

    people = _setup(world)
    # Ended long ago, then a new category period opened: support is going on again.
    run(CategoryPeriod.insert(CategoryPeriod(person=people["old"], category="post_rehab",
                                             start_date=dt.date(2026, 1, 1))))
    assert run(list_due_for_anonymisation(dt.date(2021, 11, 28))) == []


def test_script_dry_run_changes_nothing(world):
    from server.people.tables import Person
    from server.piccolo_conf import DB

    people = _setup(world)
    env = {**os.environ, "RETENTION_YEARS_AFTER_SUPPORT": "5"}
    if not IS_PG:
        run(DB.checkpoint())
        env["SQLITE_PATH"] = DB.connection_kwargs["database"]
    out = subprocess.run([sys.executable, "-m", "server.privacy.retention", "--dry-run"],
                         cwd=Path(__file__).resolve().parent.parent, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 to anonymise (dry run: nothing changed)" in out.stdout
    assert "T-" in out.stdout and "Nguyễn" not in out.stdout
    name = run(Person.select(Person.full_name).where(Person.id == people["old"]).first())
    assert name["full_name"] == "Nguyễn Văn Tuấn"
