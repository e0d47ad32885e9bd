"""After a transfer each commune sees its own part of the person's story: the receiving
commune sees the person from the move on with its own team — never the first commune's team
members' names nor its visits' notes —, the first commune keeps its own visits and no longer
sees the person or anything recorded after the move.

Fixture: tests/test_reports_tasks.py's T (team: bob of A), visited by bob in A on 20/01/2026
(plus a visit with a note below), moved to B on 15/02 (alice starts, dave accepts), then given
erin of B as primary supporter and visited by erin on 01/03 (plus a note below).
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import run
from tests.factories import make_entry
from tests.test_reports_tasks import load_people, transfer_t

A_NOTE = "Anh ấy kể chuyện vợ cũ ở Hoằng Kim"
B_NOTE = "Đã gặp mẹ tại nhà mới ở Hoằng Trung"


@pytest.fixture
def story(world, as_user):
    ids = run(load_people(world))
    ids["a_visit"] = run(make_entry("visit", commune=world["A"], author=world["bob"],
                                    person=ids["T"], entry_date=dt.date(2026, 2, 5),
                                    state="approved", notes=A_NOTE))
    transfer_t(world, ids, as_user)
    dave = as_user(world["dave"])
    r = dave.post(f"/people/{ids['T']}/team", data={"user_id": str(world["erin"]),
                                                    "role": "primary"},
                  follow_redirects=False)
    assert r.status_code == 303 and "team_error" not in r.headers["location"]
    ids["b_visit"] = run(make_entry("visit", commune=world["B"], author=world["erin"],
                                    person=ids["T"], entry_date=dt.date(2026, 3, 5),
                                    state="approved", notes=B_NOTE))
    return ids


def test_the_receiving_commune_never_sees_the_first_communes_team_or_notes(world, story,
                                                                           as_user):
    bob_name = "Nguyễn Văn Bình"
    for who in ("dave", "erin"):
        client = as_user(world[who])
        page = client.get(f"/people/{story['T']}")
        assert page.status_code == 200, who
        assert "Hoàng Thị Én" in page.text, who  # B's own team is shown
        assert bob_name not in page.text, who
        assert A_NOTE not in page.text, who
        assert client.get(f"/entries/{story['a_visit']}").status_code == 404, who
    dave = as_user(world["dave"])
    audit = dave.get(f"/people/{story['T']}/audit")
    assert audit.status_code == 200 and bob_name not in audit.text
    assert dave.get(f"/review/{story['a_visit']}").status_code == 404


def test_the_first_commune_keeps_its_history_and_sees_nothing_later(world, story, as_user):
    alice, bob = as_user(world["alice"]), as_user(world["bob"])
    assert alice.get(f"/people/{story['T']}").status_code == 404
    assert bob.get(f"/people/{story['T']}").status_code == 404
    own = alice.get(f"/entries/{story['a_visit']}")
    assert own.status_code == 200 and A_NOTE in own.text
    assert alice.get(f"/entries/{story['b_visit']}").status_code == 404
    assert alice.get(f"/review/{story['b_visit']}").status_code == 404
    for client in (alice, bob):
        listing = client.get("/entries")
        assert listing.status_code == 200 and B_NOTE not in listing.text
