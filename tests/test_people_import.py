"""Importing the commune's list from XLSX/CSV (preview, then all or nothing) and exporting the
register to XLSX."""

from __future__ import annotations

import io
import json
import re

from openpyxl import Workbook, load_workbook

from tests.conftest import run
from tests.factories import make_person

HEADER = ["STT", "Họ và tên", "Năm sinh", "Giới tính", "Thôn", "Diện quản lý", "Ngày bắt đầu",
          "Số điện thoại"]
GOOD = [
    [1, "Nguyễn Văn Hòa", 1990, "Nam", "Thôn 1", "Quản lý sau cai nghiện", "01/02/2026",
     "0912345678"],
    [2, "Lê Thị Mai", 1998.0, "Nữ", "thon kim son", "methadone", None, None],
]
BAD = [
    [3, "", 1990, "Nam", "Thôn 1", "sau cai", None, None],                   # missing name
    [4, "Trần Văn Tư", 1991, "Nam", "Thôn Không Có", "sau cai", None, None],  # unknown village
    [5, "Phạm Văn Năm", "19x0", "Nam", "Thôn 2", "sau cai", None, None],     # bad year
    [6, "Đỗ Văn Sáu", 1985, "Nam", "Thôn 2", "sau cai", None, None],         # already registered
    [7, "NGUYEN VAN HOA", 1990, "nam", "Thôn 3", "giao duc", None, None],    # same as row 1
]


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Danh sách người được hỗ trợ xã Hoằng Kim"])  # a title above the header
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _count(commune: int) -> int:
    from server.people.tables import Person

    return run(Person.count().where(Person.commune == commune))


def _payload(html: str) -> str:
    import html as h

    return h.unescape(re.search(r'name="rows" value="([^"]*)"', html).group(1))


def test_preview_shows_every_rows_problem_and_writes_nothing(world, as_user):
    run(make_person(world["A"], name="Đỗ Văn Sáu", birth_year=1985, code="HK-0001"))
    alice = as_user(world["alice"])
    r = alice.post("/people/import", files={"file": ("danh-sach.xlsx", _xlsx(GOOD + BAD))})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert "Thiếu họ và tên" in r.text
    assert "Không có thôn: “Thôn Không Có”" in r.text
    assert "Nhập năm sinh từ 1920" in r.text
    assert "HK-0001" in r.text  # the likely duplicate names the existing code
    assert "Trùng họ tên và năm sinh với dòng 1" in r.text
    assert r.text.count('class="bad"') == 5 and r.text.count('class="good"') == 2
    assert 'action="/people/import/confirm"' not in r.text
    assert _count(world["A"]) == 1
    # Sending the rows anyway imports nothing at all.
    rows = [{"full_name": "Nguyễn Văn Hòa", "birth_year": "1990", "sex": "Nam",
             "village": "Thôn 1", "category": "sau cai"},
            {"full_name": "", "birth_year": "1990", "sex": "Nam", "village": "Thôn 1",
             "category": "sau cai"}]
    r = alice.post("/people/import/confirm", data={"rows": json.dumps(rows)})
    assert r.status_code == 422 and "Chưa nhập dòng nào" in r.text
    assert _count(world["A"]) == 1


def test_good_file_imports_all_rows_with_codes_and_history(world, as_user):
    from server.people.tables import CategoryPeriod, Person

    alice = as_user(world["alice"])
    r = alice.post("/people/import", files={"file": ("list.xlsx", _xlsx(GOOD))})
    assert r.status_code == 200 and 'action="/people/import/confirm"' in r.text
    assert _count(world["A"]) == 0
    r = alice.post("/people/import/confirm", data={"rows": _payload(r.text)},
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    people = run(Person.select().where(Person.commune == world["A"]).order_by(Person.code))
    assert [p["code"] for p in people] == ["HK-0001", "HK-0002"]
    assert people[0]["search_text"] == "nguyen van hoa" and people[0]["category"] == "post_rehab"
    assert people[1]["sex"] == "female" and people[1]["birth_year"] == 1998
    assert people[1]["village"] == world["villages"]["HK"][3]  # "thon kim son"
    period = run(CategoryPeriod.select().where(CategoryPeriod.person == people[0]["id"]).first())
    assert str(period["start_date"]) == "2026-02-01"
    # Importing the same file again: every row is now a likely duplicate.
    r = alice.post("/people/import", files={"file": ("list.xlsx", _xlsx(GOOD))})
    assert r.text.count('class="bad"') == 2


def test_csv_import_and_unreadable_files(world, as_user):
    alice = as_user(world["alice"])
    csv = "Họ và tên;Năm sinh;Giới tính;Thôn;Diện\nBùi Văn Chín;1979;Nam;Thôn Đông;Tự nguyện\n"
    r = alice.post("/people/import", files={"file": ("ds.csv", csv.encode("utf-8-sig"))})
    assert r.status_code == 200 and r.text.count('class="good"') == 1
    r = alice.post("/people/import/confirm", data={"rows": _payload(r.text)},
                   follow_redirects=False)
    assert r.status_code == 303 and _count(world["A"]) == 1
    for name, content in (("x.xlsx", b"not a zip"), ("x.pdf", b"%PDF"),
                          ("x.csv", "Tên\n".encode("utf-16")), ("x.csv", b"a,b\n1,2\n")):
        r = alice.post("/people/import", files={"file": (name, content)})
        assert r.status_code == 422 and 'class="form-error"' in r.text, name
    assert alice.post("/people/import", data={"x": "1"}).status_code == 422
    assert alice.post("/people/import/confirm", data={"rows": "{nope"}).status_code == 422
    assert alice.post("/people/import/confirm", data={"rows": "[1, 2]"}).status_code == 422
    assert _count(world["A"]) == 1


def test_import_goes_into_the_officials_own_commune(world, as_user):
    dave = as_user(world["dave"])
    r = dave.post("/people/import", files={"file": ("list.xlsx", _xlsx(GOOD))})
    # Hoằng Kim's villages are unknown in Hoằng Trung.
    assert r.text.count('class="bad"') == 2 and "Thôn 1" in r.text
    assert as_user(world["bob"]).get("/people/import").status_code == 403


def test_export_register_to_xlsx(world, as_user):
    run(make_person(world["A"], name="Nguyễn Văn Hòa", code="HK-0001",
                    village=world["villages"]["HK"][0], team=[world["bob"]]))
    run(make_person(world["A"], name="Người Đã Xong", code="HK-0002", status="ended"))
    run(make_person(world["B"], name="Người Xã Khác", code="HT-0001"))
    r = as_user(world["alice"]).get("/people/export.xlsx")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã" and len(rows) == 2  # active people only by default
    assert rows[1][:2] == ("HK-0001", "Nguyễn Văn Hòa") and rows[1][8] == "Nguyễn Văn Bình"
    r = as_user(world["alice"]).get("/people/export.xlsx", params={"status": "all"})
    assert len(list(load_workbook(io.BytesIO(r.content)).active.iter_rows())) == 3
    from server.audit.tables import AuditEvent

    assert run(AuditEvent.count().where(AuditEvent.action == "person.export")) == 2
    assert as_user(world["dave"]).get("/people/export.xlsx").status_code == 200
    r = as_user(world["dave"]).get("/people/export.xlsx")
    names = [row[1] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(
        values_only=True)]
    assert "Nguyễn Văn Hòa" not in names and "Người Xã Khác" in names
