"""Demo public pages: both communes and the province publish a page (through the editor's own
audited writes), the demo providers get addresses, opening hours and phones and are listed,
and a few outreach talks are announced in the coming weeks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.public import content, queries
from server.records.tables import Provider
from server.vntime import today as vn_today

# Provider name (server/records/demo.py) → address, opening hours, phone.
PROVIDER_DETAILS = {
    "Trạm y tế xã": ("Cạnh Ủy ban nhân dân xã", "7:00–17:00, thứ Hai đến thứ Bảy",
                     "0237 3 000 115"),
    "Cơ sở điều trị Methadone huyện": ("Trung tâm Y tế huyện Hoằng Hóa",
                                       "6:30–10:30 và 14:00–16:30, tất cả các ngày",
                                       "0237 3 000 120"),
    "Cơ sở cai nghiện tự nguyện tỉnh": ("Thành phố Thanh Hóa", "7:30–17:00, thứ Hai đến thứ Sáu",
                                        "0237 3 000 130"),
    "Trung tâm Trợ giúp pháp lý": ("Thành phố Thanh Hóa", "7:30–16:30, thứ Hai đến thứ Sáu",
                                   "0237 3 000 140"),
    "Trung tâm Giáo dục nghề nghiệp": ("Thị trấn Bút Sơn", "7:30–17:00, thứ Hai đến thứ Sáu",
                                       "0237 3 000 150"),
}

HOANG_KIM_EXTRA = (
    "## Tổ công tác cai nghiện của xã Hoằng Kim\n"
    "Tổ tiếp người dân và gia đình vào sáng thứ Tư hằng tuần tại Ủy ban nhân dân xã. "
    "Có thể đến trực tiếp hoặc gọi đường dây tư vấn để hẹn giờ khác.")

PAGES = {
    # area key, editor persona, hotline number, hours, extra Vietnamese text
    "HK": ("alice", "0912 000 100", "7:30–21:00, tất cả các ngày", HOANG_KIM_EXTRA),
    "HT": ("dave", "0912 000 200", "7:30–17:00, thứ Hai đến thứ Sáu", ""),
    "province": ("eve", "1900 0000 11", "24/7", ""),
}

TALKS = {
    "HK": [(6, "19:30", "Nhà văn hóa Thôn 2", "law"),
           (13, "14:00", "Trường THCS Hoằng Kim", "refusal"),
           (27, "", "Nhà văn hóa Thôn Kim Sơn", "family")],
    "HT": [(9, "08:00", "Nhà văn hóa Thôn Phú Xá", "stigma"),
           (20, "", "Trường Tiểu học Hoằng Trung", "harms")],
    "province": [(16, "08:00", "Trung tâm Văn hóa tỉnh", "rehab")],
}


async def load(ids: dict[str, Any]) -> None:
    for name, (address, hours, phone) in PROVIDER_DETAILS.items():
        await Provider.update({Provider.address: address, Provider.hours: hours,
                               Provider.phone: phone, Provider.listed: True}).where(
            Provider.name == name)
    today = vn_today()
    for key, (editor, number, hours, extra) in PAGES.items():
        area, actor = ids[key], ids["users"][editor]
        body_vi = content.standard_text("vi") + (f"\n\n{extra}" if extra else "")
        await queries.save_draft(actor, area, {
            "body_vi": content.stored_body(body_vi, "vi"), "body_en": None,
            "hotline_number": number, "hotline_hours": hours})
        await queries.publish_draft(actor, area)
        for days, start, place, topic in TALKS[key]:
            await queries.add_planned_talk(actor, area, {
                "date": today + dt.timedelta(days=days), "start_time": start, "place": place,
                "topic": topic})
