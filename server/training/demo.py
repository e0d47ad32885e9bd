"""Demo training sessions, written through the real write path and reviewed through the real
review: in Xã Hoằng Kim carol may record training and two of its three staff were trained in
approved sessions (66.7%, under the > 80% target); a third session waits for review. In Xã
Hoằng Trung erin's session trained both its staff (100%)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.areas.tables import User
from server.records.queries import submit_record
from server.reports.periods import demo_day, demo_window
from server.review.queries import approve_entry
from server.training.queries import set_recorders
from server.web import CurrentUser


def _as(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


async def _session(author: CurrentUser, days_ago: int, **data: Any) -> uuid.UUID:
    entry_id = uuid.uuid4()
    day = demo_day(days_ago)  # inside the reports a newcomer opens first
    result = await submit_record(author, "training", entry_id, 1, dt.datetime.now(dt.UTC),
                                 {"date": day.isoformat(), **data})
    assert result.outcome == "stored", result
    return entry_id


async def load(ids: dict[str, Any]) -> None:
    users, org = ids["users"], ids["org"]
    hk, ht = ids["HK"], ids["HT"]
    alice, dave = _as(users["alice"], "official", hk), _as(users["dave"], "official", ht)
    # The staff's accounts existed before the sessions (the share counts the accounts that
    # existed by the period's end; the demo's were made a moment ago).
    await User.update({User.created_at: dt.datetime.combine(
        demo_window().start - dt.timedelta(days=1), dt.time(), dt.UTC)}).where(
        User.area.is_in([hk, ht]))
    await set_recorders(alice, [users["carol"]])
    await set_recorders(dave, [users["erin"]])
    carol, erin = _as(users["carol"], "volunteer", hk), _as(users["erin"], "volunteer", ht)

    first = await _session(
        carol, 45, title="Tập huấn kỹ năng tư vấn, hỗ trợ người sau cai nghiện",
        topics=["counselling", "post_rehab", "stigma"], organisation=org["LHPN"],
        trainer="Bác sĩ Trạm y tế xã", place="Hội trường UBND xã",
        participants=[users["alice"], users["bob"]], others_count=14)
    await approve_entry(alice, first, 1)
    second = await _session(
        carol, 20, title="Phổ biến Luật Phòng, chống ma túy 2021 cho cán bộ thôn",
        topics=["law", "prevention"], organisation=org["CAX"], trainer="Công an xã",
        place="Nhà văn hóa Thôn 1", participants=[users["bob"]], others_count=22)
    await approve_entry(alice, second, 1)
    await _session(  # waits for review: shown apart in the report
        carol, 3, title="Ghi chép, báo cáo trên ứng dụng Đồng Hành",
        topics=["records"], trainer="Cán bộ Văn hóa - Xã hội", place="UBND xã",
        participants=[users["carol"]], others_count=0)

    third = await _session(
        erin, 30, title="Tập huấn cai nghiện tự nguyện tại gia đình, cộng đồng",
        topics=["voluntary_rehab", "law"], organisation=org["DTN"], place="UBND xã",
        participants=[users["dave"], users["erin"]], others_count=9)
    await approve_entry(dave, third, 1)
