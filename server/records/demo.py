"""Demo field records: providers per commune, and visits, talks, referrals and their follow-up
steps written through the real write path (`submit_record`) by the demo volunteers, then some
reviewed through the real decisions — approved, and one returned to bob with a comment; of the
follow-up steps some approved, some waiting in the queue, one returned to bob, one rejected —
so every screen has something to show."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.areas.tables import Area
from server.people.tables import CategoryPeriod, Person, TeamMember
from server.records.queries import submit_record
from server.records.tables import Provider
from server.review import queries as review
from server.vntime import today as vn_today
from server.web import CurrentUser

PROVIDERS = [
    ("Trạm y tế xã", "health_station"),
    ("Cơ sở điều trị Methadone huyện", "methadone"),
    ("Cơ sở cai nghiện tự nguyện tỉnh", "voluntary_rehab"),
    ("Trung tâm Trợ giúp pháp lý", "legal_aid"),
    ("Trung tâm Giáo dục nghề nghiệp", "vocational"),
]
OBSERVATIONS = [
    ("Sức khỏe ổn định, ngủ tốt", "Làm phụ hồ, thu nhập đều", "Gia đình quan tâm"),
    ("Hơi gầy, ăn uống kém", "Đang tìm việc", "Vợ lo lắng, cần động viên"),
    ("Khỏe", "Chạy xe ôm", "Mẹ già sống cùng"),
]


def _as(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


async def _review(entry_id: uuid.UUID, state: str, reviewer: int, commune: int,
                  comment: str = "") -> None:
    """A decision on version 1, through the review's own guarded transaction."""
    official = _as(reviewer, "official", commune)
    if state == "approved":
        await review.approve_entry(official, entry_id, 1)
    elif state == "returned":
        await review.return_entry(official, entry_id, 1, comment)
    else:
        await review.reject_entry(official, entry_id, 1, comment)


async def _caseload(commune: int, user_id: int) -> list[dict[str, Any]]:
    rows = await TeamMember.select(TeamMember.person).where(
        (TeamMember.user == user_id) & TeamMember.end_date.is_null()
        & TeamMember.person.is_in(Person.select(Person.id).where(Person.commune == commune)))
    out = []
    for r in rows:
        start = await CategoryPeriod.select(CategoryPeriod.start_date).where(
            CategoryPeriod.person == r["person"]).order_by(CategoryPeriod.start_date).first()
        out.append({"id": r["person"], "start": start["start_date"] if start else None})
    return out


async def load(ids: dict[str, Any]) -> None:
    users = ids["users"]
    today = vn_today()
    now = dt.datetime.now(dt.UTC)
    for code, official, volunteers in (("HK", "alice", ("bob", "carol")),
                                       ("HT", "dave", ("erin",))):
        commune = ids[code]
        providers = []
        for name, service in PROVIDERS:
            row = await Provider.insert(Provider(commune=commune, name=name, service=service)) \
                .returning(Provider.id)
            providers.append((int(row[0]["id"]), service))
        freq_row = await Area.select(Area.visit_frequency_days).where(Area.id == commune).first()
        freq = int(freq_row["visit_frequency_days"]) if freq_row else 30
        returned_done = False
        for vkey in volunteers:
            me = _as(users[vkey], "volunteer", commune)
            people = await _caseload(commune, users[vkey])
            for n, person in enumerate(people):
                start = person["start"] or today - dt.timedelta(days=90)
                days_known = (today - start).days
                for k, back in enumerate((3, 35, 70)):
                    if back > days_known:
                        continue
                    day = today - dt.timedelta(days=back + n % 3)
                    if day < start:
                        continue
                    health, work, family = OBSERVATIONS[(n + k) % 3]
                    rid = uuid.uuid4()
                    res = await submit_record(me, "visit", rid, 1, now, {
                        "person": person["id"], "date": day.isoformat(),
                        "visit_kind": ("home", "phone", "home")[k], "met": (n + k) % 5 != 4,
                        "not_met_reason": "not_home", "health": health, "work": work,
                        "family": family, "drug_signs": "suspected" if (n + k) % 7 == 3
                        else "none", "support": [["counselling"], ["job", "counselling"],
                                                 ["papers"]][k],
                        "risk": ("low", "medium", "low")[(n + k) % 3],
                        "next_step": "Tiếp tục theo dõi, động viên gia đình",
                        "next_visit_date": (day + dt.timedelta(days=freq)).isoformat()})
                    if res.outcome != "stored":
                        continue
                    if back >= 35:
                        await _review(rid, "approved", users[official], commune)
                    elif vkey == "bob" and not returned_done:
                        returned_done = True
                        await _review(rid, "returned", users[official], commune,
                                      "Ghi rõ hỗ trợ đã đưa (giấy tờ gì, hẹn ở đâu) rồi "
                                      "gửi lại.")
            # outreach talks in the commune's villages
            for t, village in enumerate(ids["villages"][code][:3]):
                total = 40 + 25 * t
                rid = uuid.uuid4()
                res = await submit_record(me, "talk", rid, 1, now, {
                    "date": (today - dt.timedelta(days=5 + 20 * t)).isoformat(),
                    "village": village, "setting": ("school", "community", "workplace")[t],
                    "format": ("talk", "contest", "loudspeaker")[t],
                    "topics": [["law", "harms"], ["synthetic", "refusal"], ["stigma"]][t],
                    "organisation": ids["org"]["DTN" if vkey != "carol" else "LHPN"],
                    "attendees_total": total, "attendees_women": total // 2,
                    "attendees_under30": total * 2 // 3,
                    "attendees_students": total // 2 if t == 0 else 0,
                    "materials": total, "notes": "Phát tờ rơi sau buổi nói chuyện"})
                if res.outcome == "stored" and t > 0:
                    await _review(rid, "approved", users[official], commune)
            # referrals, one for an unregistered contact, with follow-up steps
            for r_i, person in enumerate(people[:3]):
                pid, service = providers[r_i % len(providers)]
                start = person["start"] or today - dt.timedelta(days=90)
                day = max(start, today - dt.timedelta(days=30 - 5 * r_i))
                rid = uuid.uuid4()
                res = await submit_record(me, "referral", rid, 1, now, {
                    "person": person["id"], "date": day.isoformat(), "service": service,
                    "provider": pid, "reason": "Cần hỗ trợ theo nhu cầu",
                    "urgency": ("normal", "soon", "urgent")[r_i]})
                if res.outcome != "stored":
                    continue
                steps = [("received", None), ("attended", None), ("closed", "completed")][:r_i + 1]
                if r_i == 2:
                    await _review(rid, "approved", users[official], commune)
                for s_i, (status, outcome) in enumerate(steps):
                    step_day = min(today, day + dt.timedelta(days=2 * (s_i + 1)))
                    data = {"referral": str(rid), "status": status, "date": step_day.isoformat(),
                            "note": "Đã liên hệ cơ sở"}
                    if outcome:
                        data["outcome"] = outcome
                    sid = uuid.uuid4()
                    if (await submit_record(me, "referral_status", sid, 1, now, data)).outcome \
                            != "stored":
                        continue
                    # Follow-up steps are reviewed too: the earlier ones approved, the last
                    # of the closed referral waiting in the queue.
                    if r_i == 2 and s_i < 2:
                        await _review(sid, "approved", users[official], commune)
                    elif r_i == 0 and vkey == "bob":
                        await _review(sid, "returned", users[official], commune,
                                      "Ghi rõ ai ở cơ sở đã tiếp nhận và hẹn ngày nào.")
                if r_i == 1:
                    # A step recorded twice by mistake: the official rejects the second one.
                    dup = uuid.uuid4()
                    res = await submit_record(me, "referral_status", dup, 1, now, {
                        "referral": str(rid), "status": "closed", "outcome": "declined",
                        "date": min(today, day + dt.timedelta(days=5)).isoformat(),
                        "note": "Ghi nhầm"})
                    if res.outcome == "stored":
                        await _review(dup, "rejected", users[official], commune,
                                      "Người được hỗ trợ vẫn đang đi khám, chưa từ chối.")
            await submit_record(me, "referral", uuid.uuid4(), 1, now, {
                "contact_alias": "Anh H. (gặp ở buổi tuyên truyền)", "contact_sex": "male",
                "contact_age_band": "18_29", "date": (today - dt.timedelta(days=2)).isoformat(),
                "service": "counselling", "reason": "Muốn được tư vấn cai nghiện tự nguyện",
                "urgency": "soon"})
