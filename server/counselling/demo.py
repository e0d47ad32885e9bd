"""Demo counselling contacts through the real write path and review: the hotline counsellors
of each commune, an anonymous hotline call, a family's Zalo call that led to a referral and
needs follow-up (open in bob's to-do list), a school's question, and one already followed up."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.counselling.queries import close_follow_up, set_counsellors
from server.records.queries import submit_record
from server.records.tables import Entry
from server.reports.periods import demo_day
from server.review.queries import approve_entry
from server.web import CurrentUser


def _as(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


async def _contact(author: CurrentUser, days_ago: int, **data: Any) -> uuid.UUID:
    entry_id = uuid.uuid4()
    day = demo_day(days_ago)  # inside the reports a newcomer opens first
    result = await submit_record(author, "counselling", entry_id, 1, dt.datetime.now(dt.UTC),
                                 {"date": day.isoformat(), **data})
    assert result.outcome == "stored", result
    return entry_id


async def load(ids: dict[str, Any]) -> None:
    users = ids["users"]
    hk, ht = ids["HK"], ids["HT"]
    alice, dave = _as(users["alice"], "official", hk), _as(users["dave"], "official", ht)
    await set_counsellors(alice, [users["alice"], users["bob"]])
    await set_counsellors(dave, [users["erin"]])
    bob, erin = _as(users["bob"], "volunteer", hk), _as(users["erin"], "volunteer", ht)

    anonymous = await _contact(
        bob, 12, time="21:15", channel="hotline", asker="anonymous",
        topics=["rehab", "methadone"], actions=["advice", "information"],
        notes="Người gọi hỏi về điều trị Methadone và cai nghiện tự nguyện tại gia đình.")
    await approve_entry(alice, anonymous, 1)

    referral = await Entry.select(Entry.id, Entry.person).where(
        (Entry.kind == "referral") & (Entry.author == users["bob"])).order_by(
        Entry.entry_date, ascending=False).first()
    family = await _contact(
        bob, 6, time="09:40", channel="zalo_phone", asker="family",
        person=referral["person"] if referral else None, topics=["relapse", "family"],
        actions=["advice", "referral"] if referral else ["advice"],
        referral=str(referral["id"]) if referral else None, follow_up=True,
        follow_up_note="Gọi lại cho gia đình sau buổi khám để hỏi tình hình.")
    await approve_entry(alice, family, 1)
    school = await _contact(
        bob, 25, time="14:00", channel="commune", asker="school",
        topics=["law", "other"], actions=["information"], follow_up=True,
        follow_up_note="Gửi tài liệu tuyên truyền cho nhà trường.")
    await approve_entry(alice, school, 1)
    await close_follow_up(bob, school, "Đã gửi 50 tờ rơi cho trường THCS.")

    await _contact(  # waits for review
        erin, 2, time="19:05", channel="hotline", asker="community",
        topics=["mental_health"], actions=["advice"])
    hung = await _contact(
        erin, 15, time="08:30", channel="home", asker="family", topics=["jobs"],
        actions=["information"])
    await approve_entry(dave, hung, 1)
