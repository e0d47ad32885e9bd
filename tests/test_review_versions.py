"""A decision is about what the reviewer saw: every decision names the version on the page, and
a correction that lands between opening and deciding refuses it — 409 with the diff from the
seen version to the current one and the controls for the current version, over HTML, htmx and
JSON; in a bulk approval the corrected entry is skipped with that reason."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from server.audit.tables import AuditEvent
from server.records.queries import submit_record
from server.records.tables import Entry
from server.review import queries
from server.vntime import today as vn_today
from tests.conftest import run
from tests.factories import make_person
from tests.test_records import cu

NOW = dt.datetime.now(dt.UTC)
JSON = {"accept": "application/json"}
CHANGED = "Bản ghi này đã được sửa sau khi bạn mở nó."


def _visit(person: int, **over):
    data = {"person": person, "date": vn_today().isoformat(), "visit_kind": "home",
            "met": True, "health": "Khỏe", "drug_signs": "none", "support": ["counselling"],
            "risk": "low", "next_step": "Thăm lại"}
    data.update(over)
    return data


@pytest.fixture
def pid(world):
    return run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                           start=dt.date(2025, 1, 1)))


def _submitted(world, pid, **over) -> uuid.UUID:
    eid = uuid.uuid4()
    assert run(submit_record(cu(world, "bob"), "visit", eid, 1, NOW,
                             _visit(pid, **over))).outcome == "stored"
    return eid


def _correct(world, pid, eid, version=2, **over) -> None:
    res = run(submit_record(cu(world, "bob"), "visit", eid, version, NOW, _visit(pid, **over)))
    assert res.outcome == "stored", res.errors


def _seen_version(html: str) -> str:
    """The version the decision forms carry (all of them the same)."""
    found = set(re.findall(r'name="version" value="(\d+)"', html))
    assert len(found) == 1, found
    return found.pop()


def _decisions(eid) -> list[dict]:
    return run(AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.subject_id == str(eid)) & AuditEvent.action.is_in(
            ["entry.approve", "entry.return", "entry.reject", "entry.reopen"])))


@pytest.mark.parametrize("verb", ["approve", "return", "reject"])
def test_a_correction_between_opening_and_deciding_refuses_the_decision(world, as_user, pid,
                                                                        verb):
    eid = _submitted(world, pid, risk="low")
    alice = as_user(world["alice"])
    page = alice.get(f"/review/{eid}")
    seen = _seen_version(page.text)
    assert seen == "1"
    _correct(world, pid, eid, risk="high")  # bob's correction lands meanwhile
    r = alice.post(f"/review/{eid}/{verb}", data={"version": seen, "comment": "Ghi rõ hơn."})
    assert r.status_code == 409
    assert CHANGED in r.text
    diff = r.text[r.text.index("review-diff"):]
    assert "<del>Thấp</del>" in diff and "<ins>Cao</ins>" in diff
    assert _seen_version(r.text) == "2"  # the controls now decide the current version
    assert "Ghi rõ hơn." in r.text or verb == "approve"  # what was typed is kept
    assert r.headers["cache-control"] == "no-store"
    row = run(Entry.select(Entry.state, Entry.version).where(Entry.id == eid).first())
    assert row == {"state": "submitted", "version": 2}
    assert _decisions(eid) == []
    # deciding again on what is now on the page works
    r = alice.post(f"/review/{eid}/{verb}", data={"version": "2", "comment": "Ghi rõ hơn."},
                   follow_redirects=False)
    assert r.status_code == 303
    assert len(_decisions(eid)) == 1


def test_the_refusal_over_json_and_htmx(world, as_user, pid):
    eid = _submitted(world, pid)
    _correct(world, pid, eid, risk="medium")
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{eid}/approve", data={"version": "1"}, headers=JSON)
    assert r.status_code == 409
    assert r.json() == {"status_code": 409, "detail": CHANGED, "version": 2, "seen": 1}
    r = alice.post(f"/review/{eid}/return", data={"version": "1", "comment": "x"},
                   headers={"hx-request": "true"})
    assert r.status_code == 409
    assert r.text.lstrip().startswith('<div id="review-entry">') and CHANGED in r.text
    assert "<ins>Trung bình</ins>" in r.text
    assert run(Entry.select(Entry.state).where(Entry.id == eid).first())["state"] == "submitted"


def test_reopen_names_the_version_too(world, pid):
    eid = _submitted(world, pid)
    _correct(world, pid, eid, risk="high")
    alice = cu(world, "alice")
    run(queries.approve_entry(alice, eid, 2))
    with pytest.raises(queries.EntryChanged) as refused:
        run(queries.reopen_entry(alice, eid, 1, "Sai ngày."))
    assert (refused.value.seen, refused.value.current, refused.value.status) == (1, 2, 409)
    assert run(queries.reopen_entry(alice, eid, 2, "Sai ngày."))["state"] == "returned"


@pytest.mark.parametrize("bad", ["", "0", "-1", "abc", "1.0", "99999999"])
def test_a_missing_or_bad_version_is_a_422_and_decides_nothing(world, as_user, pid, bad):
    eid = _submitted(world, pid)
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{eid}/approve", data={"version": bad} if bad else {},
                   headers=JSON)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "Hãy mở lại bản ghi: thiếu phiên bản bạn đã xem."
    r = alice.post(f"/review/{eid}/approve", data={"version": bad} if bad else {})
    assert r.status_code == 422 and 'class="form-error"' in r.text
    assert run(Entry.select(Entry.state).where(Entry.id == eid).first())["state"] == "submitted"
    assert _decisions(eid) == []


def test_bulk_approve_skips_the_entries_corrected_since_the_queue_was_opened(world, as_user,
                                                                              pid):
    steady, moved = _submitted(world, pid), _submitted(world, pid)
    alice = as_user(world["alice"])
    queue = alice.get("/review").text
    picks = re.findall(r'name="ids" value="([^"]+)"', queue)
    assert set(picks) == {f"{steady}:1", f"{moved}:1"}
    _correct(world, pid, moved, next_step="Giới thiệu tư vấn")
    r = alice.post("/review/approve", data={"ids": picks}, headers=JSON)
    assert r.json() == {"approved": [str(steady)], "skipped": [
        {"id": f"{moved}:1", "reason": CHANGED}]}
    r = alice.post("/review/approve", data={"ids": [f"{moved}:1"], "confirm": "1"})
    assert r.status_code == 200 and CHANGED in r.text
    states = {r["id"]: (r["state"], r["version"]) for r in run(
        Entry.select(Entry.id, Entry.state, Entry.version).where(
            Entry.id.is_in([steady, moved])))}
    assert states == {steady: ("approved", 1), moved: ("submitted", 2)}
    assert f'value="{moved}:2"' in alice.get("/review").text
