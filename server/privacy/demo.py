"""Demo rows for the privacy area: a person of Hoằng Kim whose support ended seven years ago,
with visits of that time, so `scripts/retention --dry-run` has someone to list and
`/people/{id}/data` shows a full record before it is anonymised."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.people.change_queries import assign_member, close_person, create_person
from server.people.queries import get_person_for
from server.records.queries import submit_record
from server.review.queries import approve_entry
from server.vntime import today as vn_today
from server.web import CurrentUser


async def load(ids: dict[str, Any]) -> None:
    users, commune = ids["users"], ids["HK"]
    today = vn_today()
    start = today.replace(year=today.year - 9)
    end = today.replace(year=today.year - 7)
    alice = CurrentUser(id=users["alice"], role="official", name="", area_id=commune,
                        area_name="", area_level="commune")
    bob = CurrentUser(id=users["bob"], role="volunteer", name="", area_id=commune,
                      area_name="", area_level="commune")
    person_id, _code = await create_person(
        actor_id=alice.id, commune_id=commune,
        fields={"full_name": "Đỗ Văn Xưa", "birth_year": 1980, "sex": "male",
                "village": ids["villages"]["HK"][1], "phone": "0912999888",
                "address": "Xóm Bãi, Thôn 2", "notes": "Đã chuyển đi làm ăn xa."},
        category="post_rehab", start=start, planned_end=None, source="demo")
    person = await get_person_for(alice, person_id)
    await assign_member(actor_id=alice.id, person=person, user_id=bob.id, role="primary",
                        start=start)
    for months in (3, 9, 15):
        day = start + dt.timedelta(days=30 * months)
        entry_id = uuid.uuid4()
        result = await submit_record(bob, "visit", entry_id, 1,
                            dt.datetime.combine(day, dt.time(9), dt.UTC),
                            {"person": person_id, "date": day.isoformat(), "visit_kind": "home",
                             "met": True, "drug_signs": "none", "risk": "low",
                             "support": ["counselling"], "health": "Khỏe, đi làm thuê",
                             "notes": "Gặp cả vợ và con gái."})
        if result.outcome == "stored":
            await approve_entry(alice, entry_id, 1)
    await close_person(actor_id=alice.id, person=await get_person_for(alice, person_id),
                       end=end, reason="completed")
