"""Demo for the reports: entries dated inside the 6-month period a newcomer opens first (the
records demo writes around today, which may lie after that period's cut-off), so that every
section of the 6-month and the annual report shows figures — support by kind, methadone
adherence, a compulsory-rehab dossier, relapse signs, materials and topics, every organisation
line, referrals with outcomes, post-rehab people visited on schedule and one who was not —;
a person transferred from Hoằng Trung to Hoằng Kim; the official's draft of the document; and
the 6-month report finalised by the demo official (versions list, frozen view, comparison).

It runs after the people and records demos and writes through the real paths
(`submit_record`, `start_transfer` / `accept_transfer`, `save_draft`, `finalise_report`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.areas.queries import get_area
from server.people.change_queries import change_category, close_person
from server.people.labels import default_planned_end
from server.people.queries import get_person_for
from server.people.tables import CategoryPeriod, Person
from server.people.transfer_queries import accept_transfer, start_transfer
from server.records.demo import _review
from server.records.queries import submit_record
from server.reports.build import build_report
from server.reports.document import prose_of
from server.reports.finals import finalise_report, get_draft, save_draft
from server.reports.periods import (
    annual,
    demo_day,
    demo_window,
    opening_periods,
    six_month,
)
from server.vntime import today
from server.web import CurrentUser

DRAFT = {
    "doc_number": "  /BC-UBND",
    "situation": "Tình hình tệ nạn ma túy trên địa bàn xã cơ bản được kiểm soát; một số "
                 "trường hợp sau cai có biểu hiện tái sử dụng, đã được tư vấn và chuyển gửi.",
    "difficulties": "Kinh phí hỗ trợ người hỗ trợ tại thôn còn hạn chế; một số gia đình "
                    "chưa phối hợp chặt chẽ.",
    "recommendations": "Đề nghị cấp trên bố trí kinh phí tập huấn cho cán bộ thôn.",
    "next_tasks": "Duy trì thăm định kỳ 100% người sau cai; tổ chức tuyên truyền tại trường "
                  "học trước kỳ nghỉ hè.",
    "signer_title": "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
    "recipients": "- UBND tỉnh (để báo cáo);\n- Công an tỉnh;\n- Lưu: VT.",
}


def _annual() -> Any:
    """The annual period of the reporting year the demo writes in (`periods.demo_window`)."""
    return annual(opening_periods(today())[0].period.year or today().year)


def _user(user_id: int, role: str, commune: int, level: str = "commune") -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level=level)


async def _person(commune: int, name: str) -> dict[str, Any] | None:
    row = await Person.select(Person.id).where(
        (Person.commune == commune) & (Person.full_name == name)).first()
    if row is None:
        return None
    first = await CategoryPeriod.select(CategoryPeriod.start_date).where(
        CategoryPeriod.person == row["id"]).order_by(CategoryPeriod.start_date).first()
    start = first["start_date"] if first else None
    if start is not None and not isinstance(start, dt.date):
        start = dt.date.fromisoformat(str(start)[:10])
    return {"id": row["id"], "start": start}


async def _entry(me: CurrentUser, kind: str, data: dict[str, Any], reviewer: int) -> None:
    rid = uuid.uuid4()
    res = await submit_record(me, kind, rid, 1, dt.datetime.now(dt.UTC), data)
    if res.outcome == "stored":
        await _review(rid, "approved", reviewer, me.area_id)


async def _visits(me: CurrentUser, reviewer: int, person: dict[str, Any] | None,
                  days: list[dt.date], extra: list[dict[str, Any]]) -> None:
    if person is None:
        return
    for day, more in zip(days, extra, strict=False):
        if person["start"] and day < person["start"]:
            continue
        await _entry(me, "visit", {"person": person["id"], "date": day.isoformat(),
                                   "visit_kind": "home", "met": True,
                                   "health": "Sức khỏe ổn định", "work": "Làm thuê theo mùa",
                                   "family": "Gia đình quan tâm", **more}, reviewer)


async def _period_entries(ids: dict[str, Any], start: dt.date, end: dt.date) -> None:
    users, villages = ids["users"], ids["villages"]
    hk, ht = ids["HK"], ids["HT"]
    bob, carol = _user(users["bob"], "volunteer", hk), _user(users["carol"], "volunteer", hk)
    erin = _user(users["erin"], "volunteer", ht)
    alice, dave = users["alice"], users["dave"]

    def day(n: int) -> dt.date:  # the n-th day of the period, never after its end
        return min(end, start + dt.timedelta(days=n))

    monthly = [day(10), day(40), day(70), day(100), day(130), day(160)]
    # Hoằng Kim: a post-rehab person visited at least every 25 days from the start of the
    # annual period (or of their support) to yesterday — on schedule in every window of
    # both reports —, one with a relapse and a dossier.
    nam = await _person(hk, "Lý Văn Nam")
    if nam is not None:
        year = _annual()
        first = max(year.start, nam["start"] or year.start)
        last = min(year.end, today() - dt.timedelta(days=1))
        days = [first + dt.timedelta(days=2 + 25 * k)
                for k in range(((last - first).days - 2) // 25 + 1)]
        if days[-1] != last:
            days.append(last)
        kinds = [["job", "vocational"], ["family"], ["loan"], ["counselling"],
                 ["counselling", "legal"], ["papers"]]
        await _visits(carol, alice, nam, days, [
            {"support": kinds[k % len(kinds)], "drug_signs": "suspected" if k == 2 else "none"}
            for k in range(len(days))])
    await _visits(bob, alice, await _person(hk, "Trần Đức Cường"), [day(20), day(80), day(140)], [
        {"support": ["health"], "methadone": "adherent"},
        {"support": ["counselling"], "methadone": "missed"},
        {"support": ["counselling", "compulsory_dossier"], "methadone": "stopped",
         "drug_signs": "confirmed"}])
    an = await _person(hk, "Nguyễn Văn An")
    await _visits(bob, alice, an, [day(170), day(175)], [
        {"support": ["counselling", "family"]}, {"support": ["job"]}])
    if an is not None and (an["start"] is None or day(176) >= an["start"]):
        # One visit of the period still waiting for review: counted apart as pending.
        await submit_record(bob, "visit", uuid.uuid4(), 1, dt.datetime.now(dt.UTC), {
            "person": an["id"], "date": day(176).isoformat(), "visit_kind": "phone",
            "met": True, "support": ["counselling"]})
    # Hoằng Trung: a post-rehab person visited for four months only (not on schedule).
    await _visits(erin, dave, await _person(ht, "Âu Thị Vân"), monthly[:4], [
        {"support": ["counselling"]}, {"support": ["vocational"]},
        {"support": ["family"], "drug_signs": "suspected"},
        {"support": ["legal", "compulsory_dossier"], "drug_signs": "confirmed"}])
    await _visits(erin, dave, await _person(ht, "Tạ Văn Lộc"), [day(50), day(110)], [
        {"support": ["health"], "methadone": "adherent"},
        {"support": ["health"], "methadone": "adherent"}])
    # Outreach: organisations, formats, materials and topics, hot-spot villages included.
    org = ids["org"]
    talks = [
        (bob, alice, villages["HK"][0], 15, "community", "leaflet", ["law", "harms"], "DTN",
         60, 150),
        (bob, alice, villages["HK"][3], 45, "community", "talk", ["synthetic"], "CAX", 45, 30),
        (carol, alice, villages["HK"][1], 75, "school", "contest", ["refusal", "stigma"],
         "LHPN", 120, 60),
        (carol, alice, villages["HK"][4], 105, "family", "club", ["family"], "HND", 25, 0),
        (bob, alice, villages["HK"][2], 135, "workplace", "talk", ["law"], "CCB", 35, 20),
        (erin, dave, villages["HT"][0], 30, "school", "talk", ["harms", "hiv"], "TYT", 80, 100),
        (erin, dave, villages["HT"][1], 90, "community", "loudspeaker", ["law"], "MTTQ", 200,
         0),
    ]
    for me, reviewer, village, n, setting, fmt, topics, org_code, total, materials in talks:
        await _entry(me, "talk", {
            "date": day(n).isoformat(), "village": village, "setting": setting,
            "format": fmt, "topics": topics, "organisation": org[org_code],
            "attendees_total": total, "attendees_women": total // 2,
            "attendees_under30": total // 3,
            "attendees_students": total // 2 if setting == "school" else 0,
            "materials": materials, "notes": ""}, reviewer)
    # Referrals with their follow-up, dated in the period.
    for me, reviewer, name, commune, service, n in (
            (bob, alice, "Trần Đức Cường", hk, "methadone", 85),
            (carol, alice, "Lý Văn Nam", hk, "vocational", 60),
            (erin, dave, "Âu Thị Vân", ht, "jobs_loans", 100)):
        person = await _person(commune, name)
        if person is None or (person["start"] and day(n) < person["start"]):
            continue
        rid = uuid.uuid4()
        now = dt.datetime.now(dt.UTC)
        res = await submit_record(me, "referral", rid, 1, now, {
            "person": person["id"], "date": day(n).isoformat(), "service": service,
            "reason": "Cần hỗ trợ theo nhu cầu", "urgency": "normal"})
        if res.outcome != "stored":
            continue
        await _review(rid, "approved", reviewer, commune)
        for s, (status, outcome) in enumerate((("received", None), ("attended", None),
                                               ("closed", "completed"))):
            data = {"referral": str(rid), "status": status,
                    "date": min(end, day(n + 3 * (s + 1))).isoformat(), "note": ""}
            if outcome:
                data["outcome"] = outcome
            step = uuid.uuid4()
            if (await submit_record(me, "referral_status", step, 1, now, data)).outcome \
                    == "stored":
                await _review(step, "approved", reviewer, commune)  # steps are reviewed too


async def _transfer(ids: dict[str, Any]) -> None:
    """Châu Văn Thắng moves from Hoằng Trung to Hoằng Kim 40 days before the end of the demo's
    window (`periods.demo_day`), so the move is in the 6-month and the annual report."""
    users = ids["users"]
    dave = _user(users["dave"], "official", ids["HT"])
    found = await _person(ids["HT"], "Châu Văn Thắng")
    if found is None:
        return
    person = await get_person_for(dave, found["id"])
    moved = max(demo_day(40), (found["start"] or today()) + dt.timedelta(days=1))
    transfer_id = await start_transfer(actor_id=users["dave"], person=person,
                                       to_commune=ids["HK"], moved_on=moved,
                                       note="Chuyển về ở cùng gia đình tại thôn 2")
    await accept_transfer(actor_id=users["alice"], commune_id=ids["HK"],
                          transfer_id=transfer_id)


async def _register_changes(ids: dict[str, Any]) -> None:
    """A change of category and an end of support in Hoằng Kim during the annual period."""
    users = ids["users"]
    alice = _user(users["alice"], "official", ids["HK"])
    long_ = await _person(ids["HK"], "Bùi Văn Long")
    if long_ is not None:
        person = await get_person_for(alice, long_["id"])
        begin = demo_day(30)
        await change_category(actor_id=users["alice"], person=person, category="voluntary",
                              start=begin, planned_end=default_planned_end("voluntary", begin),
                              previous_reason="completed")
    quang = await _person(ids["HK"], "Cao Văn Quang")
    if quang is not None:
        person = await get_person_for(alice, quang["id"])
        await close_person(actor_id=users["alice"], person=person,
                           end=demo_day(10), reason="completed")


async def load(ids: dict[str, Any]) -> None:
    area = await get_area(ids["HK"])
    if area is None:
        return
    window = demo_window()
    h1 = six_month(_annual().year or window.start.year)
    await _period_entries(ids, window.start, window.end)
    await _transfer(ids)
    await _register_changes(ids)
    alice = CurrentUser(id=ids["users"]["alice"], role="official", name="Lê Thị Hoa",
                        area_id=area["id"], area_name=area["name"], area_level="commune")
    await save_draft(alice, area, h1, dict(DRAFT))
    report = await build_report(area, h1, detail=True)
    report["document"] = prose_of(await get_draft(area["id"], h1))
    await finalise_report(alice, area, h1, report)
