"""Above the commune a person is counted once, in every per-person figure; each commune keeps
its own view. Shown in the province's page, XLSX and DOCX.

The fixture is tests/test_reports_tasks.py's (quarter 1 of 2026; A = Hoằng Kim, B = Hoằng
Trung; R with two post-rehab spells around a relapse, S with a relapse and a dossier, T moved
from A to B on 15/02, U only pending) plus, for T, a visit in each commune with the same kind
of support and suspected drug use:
- A 01/02 (bob): counselling, suspected;   B 20/03 (erin): counselling, suspected.
T's other visits: A 20/01 loan + vocational, methadone adherent; B 01/03 counselling,
methadone stopped.

Hand counts, A | B | province (person once) — and what the sum of the communes gave:
- support, people with counselling: R, T | T | R, T = 2 (sum 3); any support: R, S, T | T |
  3 (sum 4); visits with counselling 3 | 2 | 5; any support 6 | 2 | 8.
- relapse signs, people suspected: T | T | 1 (sum 2), visits 1 | 1 | 2; confirmed: S | – | 1.
- methadone, by the worst note of the period: R missed, T adherent | T stopped | R missed,
  T stopped (sum: missed 1, adherent 1, stopped 1); visits on those lines 2 + 1 | 1 | 2 + 2.
- left the register: T "transferred" | – | none (sum 1); arrived: 0 | T | 0 (sum 1).
- registered 4 | 1 | 4; visited 3 | 1 | 3; post-rehab 4 | 1 | 4, on schedule 2 | 1 | 2.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from server.areas.queries import get_area
from server.reports.build import build_report
from tests.conftest import run
from tests.factories import make_entry
from tests.test_reports_document import _docx_text, _flat
from tests.test_reports_tasks import Q1, QUERY, load_people, transfer_t

D = dt.date


@pytest.fixture
def twice(world, as_user):
    ids = run(load_people(world))
    transfer_t(world, ids, as_user)
    run(make_entry("visit", commune=world["A"], author=world["bob"], person=ids["T"],
                   entry_date=D(2026, 2, 1), state="approved", support='["counselling"]',
                   drug_signs="suspected"))
    run(make_entry("visit", commune=world["B"], author=world["erin"], person=ids["T"],
                   entry_date=D(2026, 3, 20), state="approved", support='["counselling"]',
                   drug_signs="suspected"))
    return ids


def _report(world, key):
    return run(build_report(run(get_area(world[key])), Q1, detail=False))


def test_each_commune_counts_the_person_in_its_own_time(world, twice):
    a, b = _report(world, "A")["totals"], _report(world, "B")["totals"]
    assert a["support"]["people"]["counselling"] == 2 and a["support"]["any_people"] == 3
    assert a["support"]["visits"]["counselling"] == 3 and a["support"]["any_visits"] == 6
    assert b["support"]["people"] == {"counselling": 1}
    assert (b["support"]["visits"], b["support"]["any_people"], b["support"]["any_visits"]) \
        == ({"counselling": 2}, 1, 2)
    assert (a["relapses"]["suspected_people"], b["relapses"]["suspected_people"]) == (1, 1)
    assert a["methadone"] == {"people": {"missed": 1, "adherent": 1},
                              "visits": {"missed": 2, "adherent": 1}}
    assert b["methadone"] == {"people": {"stopped": 1}, "visits": {"stopped": 1}}
    assert (a["people"]["exited"], a["people"]["arrived"]) == ({"transferred": 1}, 0)
    assert (b["people"]["exited"], b["people"]["arrived"]) == ({}, 1)


def test_the_province_counts_every_person_once(world, twice):
    prov = _report(world, "province")
    t = prov["totals"]
    assert t["support"]["people"] == {"counselling": 2, "job": 1, "legal": 1, "papers": 1,
                                      "family": 1, "loan": 1, "vocational": 1}
    assert (t["support"]["any_people"], t["support"]["any_visits"]) == (3, 8)
    assert t["support"]["visits"]["counselling"] == 5
    assert t["dossiers"] == {"visits": 1, "people": 1}
    assert t["relapses"] == {"suspected_people": 1, "suspected_visits": 2,
                             "confirmed_people": 1, "confirmed_visits": 1}
    assert t["methadone"] == {"people": {"missed": 1, "stopped": 1},
                              "visits": {"missed": 2, "stopped": 2}}
    assert t["people"]["exited"] == {} and t["people"]["arrived"] == 0
    assert t["people"]["at_end"] == {"post_rehab": 4} and t["people"]["changed"] == 4
    cov = t["coverage"]
    assert (cov["registered"], cov["visited"], cov["post_rehab"],
            cov["post_rehab_on_schedule"]) == (4, 3, 4, 2)
    # The by-commune lines keep each commune's own view.
    by = {c["name"]: c["figures"] for c in prov["by_commune"]}
    assert by["Xã Hoằng Kim"]["support"]["people"]["counselling"] == 2
    assert by["Xã Hoằng Trung"]["support"]["people"]["counselling"] == 1
    assert by["Xã Hoằng Trung"]["people"]["arrived"] == 1


def test_a_move_to_a_commune_outside_the_area_stays_an_exit(world, twice):
    """A district holding A only: T's move to B leaves the district (an exit)."""
    from server.areas.tables import Area

    async def district() -> int:
        d = (await Area.insert(Area(code="HH", name="Huyện Hoằng Hóa", level="district",
                                    parent=world["province"])).returning(Area.id))[0]["id"]
        await Area.update({Area.parent: d}).where(Area.id == world["A"])
        await Area.insert(Area(code="HX", name="Xã Hoằng Xuân", level="commune", parent=d))
        return int(d)

    d = run(district())
    t = run(build_report(run(get_area(d)), Q1, detail=False))["totals"]
    assert t["people"]["exited"] == {"transferred": 1} and t["people"]["arrived"] == 0
    assert t["support"]["people"]["counselling"] == 2


def _cell(html: str, anchor: str) -> str:
    found = re.search(rf'id="{anchor}">([^<]*)<', html)
    assert found, anchor
    return found.group(1)


def test_the_page_xlsx_and_docx_show_each_person_once(world, twice, as_user):
    from openpyxl import load_workbook

    eve = as_user(world["eve"])
    query = f"area={world['province']}&{QUERY}"
    page = eve.get(f"/reports/view?{query}")
    assert page.status_code == 200
    for anchor, value in (("support-counselling-people", "2"), ("support-any-people", "3"),
                          ("relapses-suspected-people", "1"), ("methadone-stopped", "1"),
                          ("methadone-adherent", "0"), ("people-exited", "0"),
                          ("people-arrived", "0"), ("rate-post-rehab", "50,0%")):
        assert _cell(page.text, anchor) == value, anchor

    wb = load_workbook(io.BytesIO(eve.get(f"/reports/xlsx?{query}").content))
    tasks = list(wb["Nhiệm vụ"].iter_rows(values_only=True))[1:]
    # Rows in the order written: any support (people, visits), then the blocks by kind —
    # a heading with its sum and one indented line per code.
    assert tasks[0][1] == 3 and tasks[1][1] == 8
    blocks: list[tuple[int, list[int]]] = []
    for label, n in tasks[2:]:
        if str(label).startswith("    "):
            blocks[-1][1].append(n)
        else:
            blocks.append((n, []))
    support_people, _visits, methadone_people = blocks[0], blocks[1], blocks[2]
    assert support_people == (8, [2, 1, 1, 1, 1, 1, 1])
    assert methadone_people == (2, [1, 1])
    people = {str(r[0]).strip(): r[1] for r in wb["Người được hỗ trợ"].iter_rows(values_only=True)
              if r and r[0]}
    arrived = [n for label, n in people.items() if "chuyển đến" in label.lower()]
    assert arrived == [0]

    text = _flat(_docx_text(eve.get(f"/reports/docx?{query}").content))
    for sentence in ("Người hỗ trợ đã tư vấn, hỗ trợ trong 8 lượt thăm cho 3 người.",
                     "Trong 2 người điều trị methadone, 0 người uống thuốc đầy đủ, 1 người bỏ "
                     "liều và 1 người đã ngừng điều trị.",
                     "0 người ra khỏi danh sách và 0 người chuyển đến từ xã khác"):
        assert sentence in text, sentence
