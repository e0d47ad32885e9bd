"""A realistic dataset, reproducible from a seed, written in bulk into the configured database.

`python -m tests.bench.generate --scale commune|district|province [--seed N]` (behind
`scripts/generate-data`). Province scale: 100 communes with 5-10 villages each, 10,000 people
across the categories with category history and management teams, one official and 5-10
volunteers per commune and a province supervisor, 1,000,000 visits, 100,000 talks and 100,000
referrals with their follow-up steps (each step after "referred" an entry of kind
`referral_status` of its own, as the app records them), in every review state (mostly approved).

Rows are made in Python from one `random.Random(seed)` and written without the ORM: on SQLite
through a raw sqlite3 connection (WAL, synchronous=OFF during the load, big transactions,
executemany), on PostgreSQL with asyncpg's COPY. The secondary indexes of the big tables are
dropped for the load and built again after it. Ids are given explicitly, so the database must
be empty (migrated, no rows). Users have no passkeys: the bench signs in by making sessions.

Entry versions (the reviewer's diff) are written for entries that are not approved or that were
corrected (version 2); approved first versions have none, to keep the load fast.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from server.vntime import VIETNAM

# Everything is dated relative to a fixed day, so a seed always makes the same rows.
ANCHOR = dt.date(2026, 11, 20)
START = dt.date(2025, 1, 1)
UTC = dt.UTC
CHUNK = 20_000
# Bump when the rows a seed makes change: scripts/bench keys its cached files by it.
DATA_VERSION = 2


@dataclass(frozen=True)
class Scale:
    communes: int
    people: int
    visits: int
    talks: int
    referrals: int


SCALES: dict[str, Scale] = {
    "commune": Scale(communes=1, people=200, visits=10_000, talks=1_000, referrals=1_000),
    "district": Scale(communes=10, people=1_000, visits=100_000, talks=10_000, referrals=10_000),
    "province": Scale(communes=100, people=10_000, visits=1_000_000, talks=100_000,
                      referrals=100_000),
}

ORGANISATIONS = [
    ("DTN", "Đoàn Thanh niên"), ("LHPN", "Hội Liên hiệp Phụ nữ"), ("CCB", "Hội Cựu chiến binh"),
    ("HND", "Hội Nông dân"), ("MTTQ", "Mặt trận Tổ quốc"), ("CAX", "Công an xã"),
    ("TYT", "Trạm y tế"),
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Trịnh", "Mai"]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Công", "Xuân", "Thanh"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng"]
GIVEN_M = ["Anh", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong",
           "Quang", "Sơn", "Tuấn", "Thắng", "Trung", "Việt", "Hoàng", "Lâm", "Tài", "Toàn"]
GIVEN_F = ["Hoa", "Lan", "Mai", "Hương", "Linh", "Ngọc", "Trang", "Yến", "Hà", "Thảo"]
PLACES = ["Đông", "Tây", "Nam", "Bắc", "Trung", "Thượng", "Hạ", "Phú", "Yên", "An", "Hòa",
          "Thịnh", "Kim", "Ngọc", "Thanh", "Tân", "Hưng", "Lộc"]
CATEGORY_WEIGHTS = [("post_rehab", 35), ("drug_user", 25), ("voluntary", 12), ("methadone", 12),
                    ("education", 6), ("high_risk", 10)]
MONTHS = {"drug_user": 12, "voluntary": 12, "methadone": None, "post_rehab": 12,
          "education": 6, "high_risk": None}
END_REASONS = ["completed"] * 6 + ["relapsed"] * 2 + ["moved", "imprisoned", "compulsory", "died"]
HEALTH = ["Sức khỏe ổn định", "Hay mệt, ngủ kém", "Đang điều trị viêm gan", "Khỏe, đi làm đều", ""]
WORK = ["Làm phụ hồ", "Chạy xe ôm", "Làm ruộng cùng gia đình", "Chưa có việc làm",
        "Làm công nhân khu công nghiệp", ""]
FAMILY_NOTES = ["Gia đình quan tâm, động viên", "Vợ con ủng hộ", "Mâu thuẫn với bố mẹ",
                "Sống một mình", ""]
NEXT_STEPS = ["Thăm lại tháng sau", "Giới thiệu học nghề", "Nhắc uống methadone đều",
              "Hỗ trợ làm giấy tờ", "Gặp gia đình trao đổi", ""]
RETURN_COMMENTS = ["Ghi rõ hơn phần hỗ trợ đã thực hiện.", "Sai ngày thăm, đề nghị sửa lại.",
                   "Bổ sung tình hình việc làm."]
REJECT_REASONS = ["Trùng với bản ghi khác.", "Nhập nhầm người được hỗ trợ."]
REASONS = ["Cần tư vấn tâm lý sau cai", "Có dấu hiệu tái sử dụng", "Muốn học nghề",
           "Cần vay vốn làm ăn", "Khám sức khỏe định kỳ", "Tham gia nhóm đồng đẳng"]
SERVICES = ["health_station", "methadone", "voluntary_rehab", "counselling", "legal_aid",
            "vocational", "jobs_loans", "peer_group"]
SUPPORTS = ["counselling", "legal", "papers", "job", "loan", "vocational", "health", "family"]
TOPICS = ["law", "harms", "synthetic", "refusal", "rehab", "stigma", "hiv", "family"]
SETTINGS_W = [("community", 50), ("school", 20), ("workplace", 10), ("family", 15), ("online", 5)]
FORMATS_W = [("talk", 45), ("leaflet", 20), ("loudspeaker", 15), ("club", 10), ("contest", 5),
             ("social", 5)]

ENTRY_COLS = (
    "id", "kind", "commune", "village", "author", "person", "entry_date", "recorded_at",
    "received_at", "updated_at", "version", "state", "content_hash", "receipt",
    "review_comment", "reviewed_by", "reviewed_at", "notes", "visit_kind", "met",
    "not_met_reason", "health", "work", "family", "drug_signs", "methadone", "support", "risk",
    "next_step", "next_visit_date", "setting", "format", "topics", "organisation",
    "attendees_total", "attendees_women", "attendees_under30", "attendees_students", "materials",
    "contact_alias", "contact_sex", "contact_age_band", "service", "provider", "reason",
    "urgency", "ref_status", "ref_outcome", "ref_status_date",
)
VERSION_COLS = ("id", "entry", "version", "data", "author", "created_at")
EVENT_COLS = ("id", "referral", "status", "outcome", "event_date", "note", "author",
              "recorded_at", "received_at", "content_hash")
# Tables whose secondary indexes are dropped for the load and rebuilt after it.
BULK_TABLES = ("entry", "entry_version", "referral_event")
SERIAL_TABLES = ("organisation", "area", "app_user", "person", "category_period", "team_member",
                 "provider", "entry_version")

Batch = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]


def fold(text: str) -> str:
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return " ".join("".join(c for c in unicodedata.normalize("NFD", text)
                            if unicodedata.category(c) != "Mn").lower().split())


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> Callable[[], str]:
    values = [p[0] for p in pairs]
    cum: list[int] = []
    total = 0
    for _v, w in pairs:
        total += w
        cum.append(total)

    import bisect

    def pick() -> str:
        return values[bisect.bisect_right(cum, rng.random() * total)]

    return pick


class _World:
    """The small tables, kept in memory: the big tables refer to them."""

    def __init__(self) -> None:
        self.villages: dict[int, list[int]] = {}
        self.officials: dict[int, int] = {}
        self.volunteers: dict[int, list[int]] = {}
        self.providers: dict[int, list[tuple[int, str]]] = {}
        # person id -> (commune, village, category, start, end or None, team [user ids])
        self.people: list[tuple[int, int, int, str, dt.date, dt.date | None, list[int]]] = []


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _stamp(rng: random.Random, day: dt.date) -> dt.datetime:
    """A moment on a Vietnam day between 06:00 and 21:00, in UTC."""
    minute = rng.randrange(6 * 60, 21 * 60)
    local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                        rng.randrange(60), rng.randrange(1, 999_999), tzinfo=VIETNAM)
    return local.astimezone(UTC)


def _day_between(rng: random.Random, a: dt.date, b: dt.date) -> dt.date:
    span = (b - a).days
    return a + dt.timedelta(days=rng.randrange(span + 1)) if span > 0 else a


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    y, m = day.year + m // 12, m % 12 + 1
    import calendar

    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def _small_tables(scale: Scale, rng: random.Random, w: _World) -> Iterator[Batch]:
    orgs = [(i, code, name) for i, (code, name) in enumerate(ORGANISATIONS, 1)]
    yield "organisation", ("id", "code", "name"), orgs
    areas: list[tuple[Any, ...]] = [(1, "BP", "Tỉnh Mẫu", "province", None, False, "", 30, 3)]
    area_id = 1
    communes: list[int] = []
    for c in range(1, scale.communes + 1):
        area_id += 1
        commune = area_id
        communes.append(commune)
        name = f"Xã {rng.choice(PLACES)} {rng.choice(PLACES)} {c:03d}"
        areas.append((commune, f"C{c:03d}", name, "commune", 1, False, f"C{c:03d}", 30, 3))
        w.villages[commune] = []
        for v in range(1, rng.randint(5, 10) + 1):
            area_id += 1
            w.villages[commune].append(area_id)
            areas.append((area_id, f"C{c:03d}-{v:02d}", f"Thôn {rng.choice(PLACES)} {v}",
                          "village", commune, rng.random() < 0.2, "", 30, 3))
    yield "area", ("id", "code", "name", "level", "parent", "hotspot", "person_prefix",
                   "visit_frequency_days", "review_overdue_days"), areas

    created = dt.datetime(2024, 12, 1, 1, 0, tzinfo=UTC)
    users: list[tuple[Any, ...]] = []

    def person_name(male: bool) -> str:
        return " ".join((rng.choice(FAMILY), rng.choice(MIDDLE_M if male else MIDDLE_F),
                         rng.choice(GIVEN_M if male else GIVEN_F)))

    uid = 1
    users.append((uid, "Giám sát " + person_name(True), "supervisor", 1, None, "0900000001",
                  True, rng.randbytes(32), created))
    for commune in communes:
        uid += 1
        w.officials[commune] = uid
        users.append((uid, person_name(rng.random() < 0.5), "official", commune, None,
                      f"09{uid:08d}", True, rng.randbytes(32), created))
        w.volunteers[commune] = []
        for _i in range(rng.randint(5, 10)):
            uid += 1
            w.volunteers[commune].append(uid)
            users.append((uid, person_name(rng.random() < 0.6), "volunteer", commune,
                          rng.randint(1, len(orgs)), f"09{uid:08d}", True, rng.randbytes(32),
                          created))
    yield "app_user", ("id", "display_name", "role", "area", "organisation", "phone", "active",
                       "handle", "created_at"), users

    providers: list[tuple[Any, ...]] = []
    pid = 0
    for commune in communes:
        w.providers[commune] = []
        for service, name in (("health_station", "Trạm y tế xã"),
                              ("methadone", "Cơ sở điều trị methadone huyện"),
                              ("counselling", "Điểm tư vấn tâm lý"),
                              ("vocational", "Trung tâm giáo dục nghề nghiệp")):
            pid += 1
            w.providers[commune].append((pid, service))
            providers.append((pid, commune, name, service, True))
    yield "provider", ("id", "commune", "name", "service", "active"), providers

    people: list[tuple[Any, ...]] = []
    periods: list[tuple[Any, ...]] = []
    team: list[tuple[Any, ...]] = []
    pick_category = _weighted(rng, CATEGORY_WEIGHTS)
    period_id = team_id = 0
    per = [scale.people // scale.communes] * scale.communes
    for i in range(scale.people % scale.communes):
        per[i] += 1
    person_id = 0
    for commune, count in zip(communes, per, strict=True):
        vols = w.volunteers[commune]
        for n in range(1, count + 1):
            person_id += 1
            male = rng.random() < 0.88
            name = person_name(male)
            village = rng.choice(w.villages[commune])
            # category history: 1-3 periods, the last one open unless the person has left
            history: list[tuple[str, dt.date, dt.date | None, dt.date | None, str]] = []
            day = _day_between(rng, dt.date(2023, 6, 1), ANCHOR - dt.timedelta(days=60))
            ended = rng.random() < 0.12
            periods_wanted = rng.choices((1, 2, 3), (60, 30, 10))[0]
            for k in range(periods_wanted):
                category = pick_category() if k == 0 else rng.choice(("post_rehab", "methadone"))
                months = MONTHS[category]
                planned = _add_months(day, months) if months else None
                history.append((category, day, planned, None, ""))
                nxt = _add_months(day, rng.randint(4, 14))
                if k == periods_wanted - 1 or nxt >= ANCHOR - dt.timedelta(days=30):
                    break  # the last period stays open (unless the person left, below)
                history[-1] = (category, day, planned, nxt, rng.choice(("completed", "relapsed")))
                day = nxt
            end: dt.date | None = None
            if ended:
                end = _day_between(rng, history[-1][1], ANCHOR)
                history[-1] = history[-1][:3] + (end, rng.choice(END_REASONS))
            category = history[-1][0]
            for h in history:
                period_id += 1
                periods.append((period_id, person_id, *h))
            start = history[0][1]
            members = rng.sample(vols, min(len(vols), rng.choice((1, 2, 2, 3))))
            for j, user in enumerate(members):
                team_id += 1
                team.append((team_id, person_id, user, "primary" if j == 0 else "member",
                             start, end, w.officials[commune]))
            w.people.append((person_id, commune, village, category, start, end, members))
            stamp = _stamp(rng, start)
            people.append((person_id, commune, f"C{communes.index(commune) + 1:03d}-{n:04d}",
                           name, fold(name), rng.randint(1960, 2006),
                           "male" if male else "female", village,
                           f"09{rng.randrange(10**8):08d}" if rng.random() < 0.7 else "", "",
                           category, "ended" if end else "active", "", stamp, stamp))
    yield "person", ("id", "commune", "code", "full_name", "search_text", "birth_year", "sex",
                     "village", "phone", "address", "category", "status", "notes",
                     "created_at", "updated_at"), people
    yield "category_period", ("id", "person", "category", "start_date", "planned_end",
                              "actual_end", "end_reason"), periods
    yield "team_member", ("id", "person", "user", "role", "start_date", "end_date",
                          "assigned_by"), team


class _Entries:
    """Makes entry rows (and their versions) one at a time, with the shared review logic."""

    def __init__(self, rng: random.Random, w: _World) -> None:
        self.rng = rng
        self.w = w
        self.version_id = 0
        self.versions: list[tuple[Any, ...]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.recent = ANCHOR - dt.timedelta(days=14)
        self._setting = _weighted(rng, SETTINGS_W)
        self._format = _weighted(rng, FORMATS_W)

    def finish(self, base: dict[str, Any], data: dict[str, Any]) -> tuple[Any, ...]:
        rng = self.rng
        day: dt.date = base["entry_date"]
        r = rng.random()
        if day > self.recent:
            state = ("submitted" if r < 0.55 else "approved" if r < 0.93
                     else "returned" if r < 0.98 else "rejected")
        else:
            state = ("approved" if r < 0.97 else "returned" if r < 0.98
                     else "rejected" if r < 0.992 else "submitted")
        recorded = _stamp(rng, day)
        # Most records reach the server within the hour; some wait days for signal.
        received = recorded + dt.timedelta(minutes=rng.randrange(1, 60) if rng.random() < 0.8
                                           else rng.randrange(60, 4 * 24 * 60))
        version = 2 if state == "approved" and rng.random() < 0.02 else 1
        reviewed_at = None
        comment = ""
        if state != "submitted":
            reviewed_at = received + dt.timedelta(hours=rng.randrange(2, 96))
            if reviewed_at.date() > ANCHOR:
                reviewed_at = received + dt.timedelta(minutes=30)
            if state == "returned":
                comment = rng.choice(RETURN_COMMENTS)
            elif state == "rejected":
                comment = rng.choice(REJECT_REASONS)
        blob = msgspec.json.encode(data)
        digest = hashlib.sha256(blob).hexdigest()
        entry_id = _uuid(rng)
        commune = base["commune"]
        base.update(
            id=entry_id, recorded_at=recorded, received_at=received,
            updated_at=reviewed_at or received, version=version, state=state,
            content_hash=digest, receipt=digest[:8].upper(), review_comment=comment,
            reviewed_by=self.w.officials[commune] if reviewed_at else None,
            reviewed_at=reviewed_at, notes=base.get("notes") or "",
        )
        if state != "approved" or version > 1:
            text = blob.decode()
            for v in range(1, version + 1):
                self.version_id += 1
                self.versions.append((self.version_id, entry_id, v, text, base["author"],
                                      received))
        return tuple(base.get(c) for c in ENTRY_COLS)

    def visit(self, person: tuple[Any, ...]) -> tuple[Any, ...]:
        rng = self.rng
        pid, commune, village, category, start, end, team = person
        day = _day_between(rng, max(START, start), end or ANCHOR)
        author = team[0] if rng.random() < 0.8 or len(team) == 1 else rng.choice(team)
        met = rng.random() < 0.9
        kind = rng.choices(("home", "phone", "commune"), (70, 20, 10))[0]
        r = rng.random()
        signs = "none" if r < 0.9 else "suspected" if r < 0.97 else "confirmed"
        methadone = (rng.choices(("adherent", "missed", "stopped"), (85, 12, 3))[0]
                     if category == "methadone" else "na")
        support = sorted(set(rng.sample(SUPPORTS, rng.choice((0, 1, 1, 2, 3)))))
        risk = rng.choices(("low", "medium", "high"), (70, 25, 5))[0]
        data: dict[str, Any] = {
            "person": pid, "date": day.isoformat(), "visit_kind": kind, "met": met,
            "not_met_reason": None if met else rng.choice(("not_home", "refused", "moved")),
            "health": rng.choice(HEALTH) if met else "",
            "work": rng.choice(WORK) if met else "",
            "family": rng.choice(FAMILY_NOTES) if met else "",
            "drug_signs": signs if met else "none", "methadone": methadone,
            "support": support, "risk": risk, "next_step": rng.choice(NEXT_STEPS),
            "next_visit_date": (day + dt.timedelta(days=30)).isoformat(), "notes": "",
        }
        base = {
            "kind": "visit", "commune": commune, "village": village, "author": author,
            "person": pid, "entry_date": day, "visit_kind": kind, "met": met,
            "not_met_reason": data["not_met_reason"], "health": data["health"],
            "work": data["work"], "family": data["family"], "drug_signs": data["drug_signs"],
            "methadone": methadone, "support": msgspec.json.encode(support).decode(),
            "risk": risk, "next_step": data["next_step"],
            "next_visit_date": day + dt.timedelta(days=30),
        }
        return self.finish(base, data)

    def talk(self, commune: int) -> tuple[Any, ...]:
        rng = self.rng
        day = _day_between(rng, START, ANCHOR)
        total = rng.randint(8, 120)
        topics = sorted(set(rng.sample(TOPICS, rng.randint(1, 3))))
        data: dict[str, Any] = {
            "date": day.isoformat(), "village": rng.choice(self.w.villages[commune]),
            "setting": self._setting(), "format": self._format(), "topics": topics,
            "organisation": rng.randint(1, len(ORGANISATIONS)), "attendees_total": total,
            "attendees_women": rng.randint(0, total // 2 + 1) if total > 1 else 0,
            "attendees_under30": rng.randint(0, total // 2), "attendees_students": 0,
            "materials": rng.choice((0, 0, 20, 50, 100)), "notes": "",
        }
        if data["setting"] == "school":
            data["attendees_students"] = rng.randint(total // 2, total)
        data["attendees_women"] = min(data["attendees_women"], total)
        base = {"kind": "talk", "commune": commune, "village": data["village"],
                "author": rng.choice(self.w.volunteers[commune]), "person": None,
                "entry_date": day, "setting": data["setting"], "format": data["format"],
                "topics": msgspec.json.encode(topics).decode(),
                "organisation": data["organisation"],
                **{k: data[k] for k in ("attendees_total", "attendees_women",
                                        "attendees_under30", "attendees_students", "materials")}}
        return self.finish(base, data)

    def referral(self, person: tuple[Any, ...] | None, commune: int,
                 events: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        rng = self.rng
        if person is not None:
            pid, commune, village, _cat, start, end, team = person
            day = _day_between(rng, max(START, start), end or ANCHOR)
            author = team[0]
        else:
            pid, village = None, rng.choice(self.w.villages[commune])
            day = _day_between(rng, START, ANCHOR)
            author = rng.choice(self.w.volunteers[commune])
        provider: int | None
        provider, service = rng.choice(self.w.providers[commune])
        if rng.random() < 0.3:
            service, provider = rng.choice(SERVICES), None
        data: dict[str, Any] = {
            "person": pid, "contact_alias": "" if pid else f"Anh {rng.choice(GIVEN_M)}",
            "contact_sex": None if pid else "male",
            "contact_age_band": None if pid else rng.choice(("18_29", "30_44")),
            "date": day.isoformat(), "service": service, "provider": provider,
            "reason": rng.choice(REASONS), "urgency": rng.choices(
                ("normal", "soon", "urgent"), (75, 20, 5))[0], "notes": "",
        }
        # follow-up: referred -> received -> attended -> closed (with an outcome)
        steps = rng.choices((1, 2, 3, 4), (15, 15, 20, 50))[0]
        status, outcome, status_day = "referred", None, day
        when = day
        for k, step in enumerate(("referred", "received", "attended", "closed")[:steps]):
            if k:
                when = min(when + dt.timedelta(days=rng.randint(1, 20)), ANCHOR)
            status, status_day = step, when
            if step == "closed":
                outcome = rng.choices(("completed", "declined", "no_show", "cancelled"),
                                      (70, 12, 12, 6))[0]
            stamp = _stamp(rng, when)
            ev_id = _uuid(rng)
            if step != "referred":
                # A follow-up step is an entry too (reviewed like the rest), under its id.
                step_out = outcome if step == "closed" else None
                step_row = self.finish(
                    {"kind": "referral_status", "commune": commune, "village": village,
                     "author": author, "person": pid, "entry_date": when, "ref_status": step,
                     "ref_outcome": step_out, "ref_status_date": when},
                    {"status": step, "outcome": step_out, "date": when.isoformat()})
                ev_id = step_row[0]
                self.steps.append(step_row)
            events.append((ev_id, None, step, outcome if step == "closed" else None, when, "",
                           author, stamp, stamp + dt.timedelta(minutes=5),
                           hashlib.sha256(ev_id.bytes).hexdigest()))
        base = {"kind": "referral", "commune": commune, "village": village, "author": author,
                "person": pid, "entry_date": day, "contact_alias": data["contact_alias"] or None,
                "contact_sex": data["contact_sex"], "contact_age_band": data["contact_age_band"],
                "service": service, "provider": provider, "reason": data["reason"],
                "urgency": data["urgency"], "ref_status": status, "ref_outcome": outcome,
                "ref_status_date": status_day}
        row = self.finish(base, data)
        # the events name their referral: fill it in now that the entry has its id
        for i in range(len(events) - steps, len(events)):
            events[i] = (events[i][0], row[0], *events[i][2:])
        return row

    def take_steps(self) -> list[tuple[Any, ...]]:
        out, self.steps = self.steps, []
        return out

    def take_versions(self) -> list[tuple[Any, ...]]:
        out, self.versions = self.versions, []
        return out


def build(scale: Scale, seed: int) -> Iterator[Batch]:
    """Every row of the dataset, table by table, in chunks (parents before children)."""
    rng = random.Random(seed)
    w = _World()
    yield from _small_tables(scale, rng, w)
    maker = _Entries(rng, w)
    people = w.people
    communes = list(w.villages)
    rows: list[tuple[Any, ...]] = []
    for _i in range(scale.visits):
        rows.append(maker.visit(people[rng.randrange(len(people))]))
        if len(rows) >= CHUNK:
            yield "entry", ENTRY_COLS, rows
            yield "entry_version", VERSION_COLS, maker.take_versions()
            rows = []
    for _i in range(scale.talks):
        rows.append(maker.talk(communes[rng.randrange(len(communes))]))
        if len(rows) >= CHUNK:
            yield "entry", ENTRY_COLS, rows
            yield "entry_version", VERSION_COLS, maker.take_versions()
            rows = []
    events: list[tuple[Any, ...]] = []
    for _i in range(scale.referrals):
        person = people[rng.randrange(len(people))] if rng.random() < 0.9 else None
        rows.append(maker.referral(person, communes[rng.randrange(len(communes))], events))
        rows += maker.take_steps()
        if len(rows) >= CHUNK:
            yield "entry", ENTRY_COLS, rows
            yield "entry_version", VERSION_COLS, maker.take_versions()
            yield "referral_event", EVENT_COLS, events
            rows, events = [], []
    yield "entry", ENTRY_COLS, rows
    yield "entry_version", VERSION_COLS, maker.take_versions()
    yield "referral_event", EVENT_COLS, events


# ---------------------------------------------------------------- writers


def _write_sqlite(path: str, batches: Iterator[Batch], log: Callable[[str], None]) -> dict[str, int]:
    import piccolo.engine.sqlite  # noqa: F401 - registers the date/UUID/datetime adapters

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = OFF")
        if conn.execute("SELECT count(*) FROM area").fetchone()[0]:
            raise SystemExit("the database already holds areas: generate into an empty one")
        indexes: list[tuple[str, str]] = []
        for table in BULK_TABLES:
            for name, sql in conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                    "AND sql IS NOT NULL", (table,)).fetchall():
                indexes.append((name, sql))
                conn.execute(f'DROP INDEX "{name}"')
        counts: dict[str, int] = {}
        conn.execute("BEGIN")
        pending = 0
        for table, cols, rows in batches:
            if not rows:
                continue
            marks = ", ".join("?" for _ in cols)
            names = ", ".join(f'"{c}"' for c in cols)
            conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
            counts[table] = counts.get(table, 0) + len(rows)
            pending += len(rows)
            if pending >= 200_000:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                pending = 0
                log(f"  {counts.get('entry', 0):,} entries")
        conn.execute("COMMIT")
        log("  building indexes")
        for _name, sql in indexes:
            conn.execute(sql)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts
    finally:
        conn.close()


async def _write_postgres(dsn: str, batches: Iterator[Batch],
                          log: Callable[[str], None]) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM area"):
            raise SystemExit("the database already holds areas: generate into an empty one")
        indexes: list[tuple[str, str]] = []
        for table in BULK_TABLES:
            for row in await conn.fetch(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 "
                    "AND indexdef NOT LIKE 'CREATE UNIQUE%'", table):
                indexes.append((row["indexname"], row["indexdef"]))
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        counts: dict[str, int] = {}
        for table, cols, rows in batches:
            if not rows:
                continue
            await conn.copy_records_to_table(table, records=rows, columns=list(cols))
            counts[table] = counts.get(table, 0) + len(rows)
            if table == "entry" and counts[table] % 200_000 < len(rows):
                log(f"  {counts[table]:,} entries")
        log("  building indexes")
        for _name, sql in indexes:
            await conn.execute(sql)
        for table in SERIAL_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)")
        await conn.execute("ANALYZE")
        return counts
    finally:
        await conn.close()


async def generate(scale: Scale, seed: int = 1, *, engine: Any = None,
                   log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the dataset into the engine's database (default: the configured one, migrated
    first) and return the row counts per table."""
    from piccolo.engine.postgres import PostgresEngine

    from server.cli import migrate

    log = log or (lambda _msg: None)
    if engine is None:
        from server.piccolo_conf import DB

        engine = DB
    await migrate(quiet=True)
    batches = build(scale, seed)
    if isinstance(engine, PostgresEngine):
        if engine.pool is not None:
            await engine.close_connection_pool()
        return await _write_postgres(engine.config["dsn"], batches, log)
    close = getattr(engine, "close_kept", None)
    if close is not None:  # the kept connection must not hold a stale view of the file
        await close()
    path = engine.connection_kwargs["database"]
    return await asyncio.to_thread(_write_sqlite, path, batches, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="generate-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="commune")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from server.settings import settings

    where = "PostgreSQL" if settings.is_postgres else f"SQLite {settings.sqlite_path}"
    print(f"Generating the {args.scale} dataset (seed {args.seed}) into {where} ...", flush=True)
    began = time.perf_counter()
    counts = asyncio.run(generate(SCALES[args.scale], args.seed,
                                  log=lambda m: print(m, flush=True)))
    for table, n in counts.items():
        print(f"  {table:16} {n:>10,}")
    print(f"Done in {time.perf_counter() - began:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
