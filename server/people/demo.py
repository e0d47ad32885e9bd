"""Demo people: about 25 across both communes' villages and every category, with separate
caseloads for bob (Nguyễn Văn Bình) and carol (Trần Thị Cúc) in Hoằng Kim and for erin in
Hoằng Trung; older start dates make some of them overdue for a visit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.people.change_queries import assign_member, create_person
from server.people.labels import default_planned_end
from server.people.queries import get_person_for
from server.vntime import today
from server.web import CurrentUser

# (commune, village index, name, birth year, sex, category, days since start, team keys)
PEOPLE: list[tuple[str, int, str, int, str, str, int, tuple[str, ...]]] = [
    ("HK", 0, "Nguyễn Văn An", 1989, "male", "post_rehab", 200, ("bob",)),
    ("HK", 0, "Lê Văn Bảo", 1995, "male", "voluntary", 20, ("bob",)),
    ("HK", 1, "Trần Đức Cường", 1984, "male", "methadone", 400, ("bob", "carol")),
    ("HK", 1, "Phạm Thị Dung", 1992, "female", "drug_user", 90, ("bob",)),
    ("HK", 2, "Hoàng Văn Đạt", 1999, "male", "education", 10, ("bob",)),
    ("HK", 3, "Đỗ Minh Hải", 1987, "male", "post_rehab", 60, ("bob",)),
    ("HK", 3, "Vũ Văn Hùng", 1978, "male", "high_risk", 35, ("carol",)),
    ("HK", 4, "Ngô Thị Lan", 2001, "female", "voluntary", 5, ("carol",)),
    ("HK", 4, "Bùi Văn Long", 1990, "male", "drug_user", 150, ("carol",)),
    ("HK", 2, "Đặng Quốc Minh", 1986, "male", "methadone", 25, ("carol",)),
    ("HK", 0, "Lý Văn Nam", 1993, "male", "post_rehab", 300, ("carol", "bob")),
    ("HK", 1, "Mai Thị Oanh", 1997, "female", "high_risk", 15, ()),
    ("HK", 3, "Trịnh Văn Phúc", 1982, "male", "education", 45, ("alice",)),
    ("HK", 4, "Cao Văn Quang", 2000, "male", "drug_user", 70, ()),
    ("HT", 0, "Nguyễn Thị Hà", 1994, "female", "voluntary", 40, ("erin",)),
    ("HT", 0, "Lương Văn Khánh", 1988, "male", "post_rehab", 12, ("erin",)),
    ("HT", 1, "Tạ Văn Lộc", 1985, "male", "methadone", 500, ("erin",)),
    ("HT", 1, "Đinh Thị Mến", 1996, "female", "drug_user", 100, ("erin",)),
    ("HT", 2, "Phan Văn Nghĩa", 1991, "male", "education", 8, ("erin",)),
    ("HT", 2, "Hồ Văn Phong", 1983, "male", "high_risk", 60, ()),
    ("HT", 0, "Lâm Văn Sơn", 1998, "male", "post_rehab", 33, ("dave",)),
    ("HT", 1, "Kiều Thị Tâm", 2002, "female", "voluntary", 3, ("erin",)),
    ("HT", 2, "Châu Văn Thắng", 1980, "male", "drug_user", 240, ()),
    ("HT", 0, "Quách Văn Uy", 1990, "male", "methadone", 18, ("erin",)),
    ("HT", 1, "Âu Thị Vân", 1993, "female", "post_rehab", 365, ("dave", "erin")),
]
OFFICIALS = {"HK": "alice", "HT": "dave"}


async def load(ids: dict[str, Any]) -> None:
    users = ids["users"]
    now = today()
    for commune, village, name, year, sex, category, days, team in PEOPLE:
        official = users[OFFICIALS[commune]]
        start = now - dt.timedelta(days=days)
        person_id, _code = await create_person(
            actor_id=official, commune_id=ids[commune],
            fields={"full_name": name, "birth_year": year, "sex": sex,
                    "village": ids["villages"][commune][village], "phone": "", "address": "",
                    "notes": ""},
            category=category, start=start,
            planned_end=default_planned_end(category, start), source="demo")
        as_official = CurrentUser(id=official, role="official", name="", area_id=ids[commune],
                                  area_name="", area_level="commune")
        person = await get_person_for(as_official, person_id)
        for i, key in enumerate(team):
            await assign_member(actor_id=official, person=person, user_id=users[key],
                                role="primary" if i == 0 else "member", start=start)
