"""A person's request to see their data: one printable page with everything the commune holds
about them and who read it, for the official of their commune only, audited, never cached."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.conftest import run
from tests.factories import make_entry, make_person
from tests.test_retention import _ended


def _person(world):
    from server.people.tables import Person
    from server.records.tables import ReferralEvent

    pid = run(make_person(world["A"], name="Phạm Thị Lan", village=world["villages"]["HK"][0],
                          team=[world["bob"]], start=dt.date(2025, 3, 1)))
    run(Person.update({Person.phone: "0987654321", Person.address: "Xóm Bến",
                       Person.notes: "Con gái học lớp 5"}).where(Person.id == pid))
    run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid,
                   entry_date=dt.date(2026, 3, 10), state="approved", health="Ngủ kém"))
    referral = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                              entry_date=dt.date(2026, 4, 2), reason="Khám phổi"))
    run(ReferralEvent.insert(ReferralEvent(
        id=uuid.uuid4(), referral=referral, status="received", event_date=dt.date(2026, 4, 6),
        note="Đã hẹn lịch chụp phim", author=world["bob"],
        recorded_at=dt.datetime(2026, 4, 6, tzinfo=dt.UTC), content_hash="r" * 64)))
    return pid


def test_official_gets_everything_held_on_one_printable_page(world, as_user):
    from server.privacy.queries import count_audit_rows

    pid = _person(world)
    alice = as_user(world["alice"])
    assert f'href="/people/{pid}/data"' in alice.get(f"/people/{pid}").text  # the way there
    r = alice.get(f"/people/{pid}/data")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    page = r.text
    for held in ("Phạm Thị Lan", "0987654321", "Xóm Bến", "Con gái học lớp 5",  # register
                 "01/03/2025",  # category period start
                 "Nguyễn Văn Bình",  # team and author
                 "Ngủ kém", "Khám phổi",  # a visit's and a referral's free text
                 "06/04/2026", "Cơ sở đã tiếp nhận", "Đã hẹn lịch chụp phim",  # a referral step
                 "Lê Thị Hoa"):  # who opened the person page: alice, just now
        assert held in page, held
    assert "report-print.css" in page  # the A4 print stylesheet
    assert f'href="/people/{pid}/edit"' in page  # correct it through the register's form
    assert run(count_audit_rows("person.export", pid)) == 1
    # The next export lists this one, named in Vietnamese.
    assert "Đã in toàn bộ dữ liệu đang lưu về người này" in alice.get(f"/people/{pid}/data").text


def test_only_the_official_of_the_persons_commune(world, as_user, client):
    pid = _person(world)
    assert as_user(world["dave"]).get(f"/people/{pid}/data").status_code == 404
    assert as_user(world["bob"]).get(f"/people/{pid}/data").status_code == 403
    assert as_user(world["eve"]).get(f"/people/{pid}/data").status_code == 403
    r = client.get(f"/people/{pid}/data", follow_redirects=False)
    assert r.status_code == 302 and "/signin" in r.headers["location"]
    assert as_user(world["alice"]).get("/people/99999999999/data").status_code == 404
    from server.privacy.queries import count_audit_rows

    assert run(count_audit_rows("person.export", pid)) == 0


def test_after_anonymisation_the_page_says_so_and_names_nobody(world, as_user):
    from server.privacy.retention import run_retention

    pid = _person(world)
    _ended(pid, dt.date(2020, 1, 31))
    run(run_retention(today=dt.date(2026, 11, 28), years=5, dry_run=False, log=lambda _l: None))
    page = as_user(world["alice"]).get(f"/people/{pid}/data").text
    assert "ẩn danh" in page
    for gone in ("Phạm Thị Lan", "0987654321", "Xóm Bến", "Con gái học lớp 5", "Ngủ kém",
                 "Khám phổi"):
        assert gone not in page, gone
