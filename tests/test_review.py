"""Review: the queue, every decision (allowed and refused), bulk approval, separation of duties,
the version diff, and who may see what."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from server.audit.tables import AuditEvent
from server.records.tables import Entry, EntryVersion
from server.review import queries
from server.review.queries import ReviewRefused
from server.web import CurrentUser
from tests.conftest import run
from tests.factories import make_entry, make_person

STATES = ("submitted", "approved", "returned", "rejected")
JSON = {"accept": "application/json"}
V1 = {"version": "1"}  # the version the reviewer saw


def official(world, key: str = "alice") -> CurrentUser:
    commune = world["A"] if key == "alice" else world["B"]
    return CurrentUser(id=world[key], role="official", name=key, area_id=commune,
                       area_name="", area_level="commune")


def entry(world, state: str = "submitted", author: str = "bob", commune: str = "A",
          **kw):
    return run(make_entry(kw.pop("kind", "visit"), commune=world[commune], author=world[author],
                          state=state, **kw))


def state_of(eid) -> dict:
    return run(Entry.select().where(Entry.id == eid).first())


def audit_rows(action: str | None = None) -> list[dict]:
    q = AuditEvent.select()
    if action:
        q = q.where(AuditEvent.action == action)
    return run(q.order_by(AuditEvent.id))


# ---------------------------------------------------------------- decisions as queries

DECISIONS = {
    # verb: (function, needs text, the one state it applies to, the state it leads to)
    "approve": (queries.approve_entry, False, "submitted", "approved"),
    "return": (queries.return_entry, True, "submitted", "returned"),
    "reject": (queries.reject_entry, True, "submitted", "rejected"),
    "reopen": (queries.reopen_entry, True, "approved", "returned"),
}


def decide(world, verb: str, eid, text: str = "Ghi rõ ngày gặp.", version=1):
    fn, needs_text, _from, _to = DECISIONS[verb]
    args = (official(world), eid, version, text) if needs_text else (official(world), eid,
                                                                    version)
    return run(fn(*args))


@pytest.mark.parametrize("verb", list(DECISIONS))
@pytest.mark.parametrize("start", STATES)
def test_every_transition_allowed_or_refused(world, verb, start):
    fn, needs_text, allowed_from, goes_to = DECISIONS[verb]
    eid = entry(world, state=start)
    before = state_of(eid)
    if start == allowed_from:
        result = decide(world, verb, eid)
        assert result["state"] == goes_to
        row = state_of(eid)
        assert row["state"] == goes_to
        assert row["reviewed_by"] == world["alice"] and row["reviewed_at"] is not None
        assert row["updated_at"] > before["updated_at"]
        assert row["review_comment"] == ("Ghi rõ ngày gặp." if needs_text else "")
        events = audit_rows(f"entry.{verb}")
        assert len(events) == 1
        assert events[0]["subject_id"] == str(eid) and events[0]["actor_id"] == world["alice"]
        assert events[0]["commune_id"] == world["A"]
    else:
        with pytest.raises(ReviewRefused) as refused:
            decide(world, verb, eid)
        assert refused.value.status == 409 and refused.value.message
        assert state_of(eid)["state"] == start
        assert audit_rows(f"entry.{verb}") == []


@pytest.mark.parametrize("verb", ["return", "reject", "reopen"])
def test_comment_or_reason_is_required(world, verb):
    eid = entry(world, state=DECISIONS[verb][2])
    with pytest.raises(ReviewRefused) as refused:
        decide(world, verb, eid, text="   ")
    assert refused.value.status == 422
    assert state_of(eid)["state"] == DECISIONS[verb][2]
    assert audit_rows(f"entry.{verb}") == []


def test_reopened_entry_is_returned_with_the_reason_and_can_be_decided_again(world):
    eid = entry(world)
    decide(world, "approve", eid)
    decide(world, "reopen", eid, "Sai ngày thăm.")
    row = state_of(eid)
    assert row["state"] == "returned" and row["review_comment"] == "Sai ngày thăm."
    assert [e["action"] for e in audit_rows()][-2:] == ["entry.approve", "entry.reopen"]


def test_a_race_applies_a_decision_once(world):
    eid = entry(world)
    user = official(world)

    async def both():
        return await asyncio.gather(queries.approve_entry(user, eid, 1),
                                    queries.reject_entry(user, eid, 1, "trùng"),
                                    return_exceptions=True)

    results = run(both())
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, ReviewRefused) for r in results) == 1
    assert len([e for e in audit_rows() if e["action"].startswith("entry.")]) == 1


def test_official_cannot_decide_on_own_entry(world):
    eid = entry(world, author="alice")
    for verb in ("approve", "return", "reject"):
        with pytest.raises(ReviewRefused) as refused:
            decide(world, verb, eid)
        assert refused.value.status == 403
    assert state_of(eid)["state"] == "submitted"


def test_other_commune_entry_is_not_found(world):
    from server.errors import NotFound

    eid = entry(world, author="erin", commune="B")
    with pytest.raises(NotFound):
        decide(world, "approve", eid)
    with pytest.raises(NotFound):
        decide(world, "approve", "not-a-uuid")
    assert state_of(eid)["state"] == "submitted"


def test_bulk_approve_with_a_mix_of_states(world):
    ok1, ok2 = entry(world), entry(world, author="carol")
    done = entry(world, state="approved")
    back = entry(world, state="returned")
    gone = entry(world, state="rejected")
    mine = entry(world, author="alice")
    far = entry(world, author="erin", commune="B")
    ids = [f"{x}:1" for x in (ok1, done, back, ok2, gone, mine, far)] + ["rubbish", f"{ok1}:1"]
    result = run(queries.approve_entries(official(world), ids))
    assert set(result["approved"]) == {ok1, ok2}
    skipped = dict(result["skipped"])
    assert set(skipped) == {f"{x}:1" for x in (done, back, gone, mine, far)} | {"rubbish"}
    assert skipped[f"{mine}:1"] == "bạn là người ghi"
    assert skipped[f"{far}:1"] == "không tìm thấy"
    assert skipped["rubbish"] == "không phải bản ghi với phiên bản bạn đã xem"
    assert skipped[f"{done}:1"] == "đã được duyệt"
    assert [state_of(x)["state"] for x in (ok1, ok2, done, back, gone, mine, far)] == [
        "approved", "approved", "approved", "returned", "rejected", "submitted", "submitted"]
    events = audit_rows("entry.approve")
    assert {e["subject_id"] for e in events} == {str(ok1), str(ok2)}


def test_states_are_constrained_in_the_database(world):
    eid = entry(world)
    with pytest.raises(Exception, match="(?i)check|entry_state"):
        run(Entry.update({Entry.state: "bogus"}).where(Entry.id == eid))
    assert state_of(eid)["state"] == "submitted"
    with pytest.raises(Exception, match="(?i)check|entry_state"):
        entry(world, state="bogus")


# ---------------------------------------------------------------- the version diff


def test_diff_versions_lists_changed_fields_with_labels():
    from server.i18n import set_locale
    from server.review.queries import diff_versions

    set_locale("en")
    try:
        changes = diff_versions(
            {"kind": "visit", "met": True, "risk": "low", "notes": "", "health": "ổn",
             "version": 1},
            {"kind": "visit", "met": True, "risk": "high", "notes": None, "work": "làm thuê",
             "version": 2})
    finally:
        set_locale("vi")
    assert changes == [("Risk level", "low", "high"), ("Work and income", None, "làm thuê"),
                       ("Health", "ổn", None)]
    assert diff_versions({"a": 1}, {"a": 1}) == []


def test_reviewer_sees_what_changed_in_a_corrected_entry(world, as_user):
    eid = entry(world, version=2, risk="high", next_step="Gặp gia đình")
    run(EntryVersion.insert(EntryVersion(entry=eid, version=1, author=world["bob"], data={
        "kind": "visit", "visit_kind": "home", "met": "True", "drug_signs": "none",
        "risk": "low", "support": "[]"})))
    alice = as_user(world["alice"])
    alice.cookies.set("lang", "en")
    r = alice.get(f"/review/{eid}")
    assert r.status_code == 200
    diff = r.text[r.text.index("What changed since version 1"):]
    assert "Risk level" in diff and "<del>Low</del>" in diff and "<ins>High</ins>" in diff
    assert "Gặp gia đình" in diff
    assert "Signs of drug use" not in diff  # unchanged fields are not listed
    first = entry(world)
    assert "What changed" not in alice.get(f"/review/{first}").text


# ---------------------------------------------------------------- the queue over HTTP


def test_queue_lists_submitted_entries_oldest_first_with_filters(world, as_user):
    hk = world["villages"]["HK"]
    now = dt.datetime.now(dt.UTC)
    old = entry(world, village=hk[0], received_at=now - dt.timedelta(days=3))
    new = entry(world, author="carol", village=hk[1], received_at=now - dt.timedelta(hours=1))
    talk = entry(world, kind="talk", village=hk[1], entry_date=dt.date(2026, 4, 2),
                 received_at=now - dt.timedelta(days=2))
    done = entry(world, state="approved")
    far = entry(world, author="erin", commune="B")
    alice = as_user(world["alice"])
    text = alice.get("/review").text
    assert text.index(str(old)) < text.index(str(talk)) < text.index(str(new))
    assert str(done) not in text and str(far) not in text

    def shown(query: str) -> set:
        page = alice.get(f"/review?{query}")
        assert page.status_code == 200
        return {x for x in (old, new, talk) if str(x) in page.text}

    assert shown("kind=talk") == {talk}
    assert shown(f"village={hk[1]}") == {new, talk}
    assert shown(f"author={world['carol']}") == {new}
    assert shown("since=2026-04-01&until=2026-04-30") == {talk}
    assert shown("kind=bogus&village=abc&since=31-12-2026&author=") == {old, new, talk}
    assert text.count('class="badge overdue"') == 1  # only `old` waits longer than 3 days
    fragment = alice.get("/review?kind=talk", headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="queue">')


def test_entry_page_shows_the_person_and_recent_history(world, as_user):
    pid = run(make_person(world["A"], name="Ngô Văn Hùng", team=[world["bob"]]))
    run(make_entry("visit", commune=world["A"], author=world["carol"], person=pid,
                   state="approved", entry_date=dt.date(2026, 2, 1), next_step="Hẹn tháng 3"))
    run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                         state="approved", entry_date=dt.date(2026, 2, 5)))
    run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                   state="approved", ref_status="closed", entry_date=dt.date(2026, 1, 5)))
    eid = run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid,
                         health="Sức khỏe tốt"))
    alice = as_user(world["alice"])
    r = alice.get(f"/review/{eid}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "Ngô Văn Hùng" in r.text and "Sức khỏe tốt" in r.text
    history = r.text[r.text.index("review-history"):]
    assert "01/02/2026" in history and "05/02/2026" in history  # dd/mm/yyyy (issue 12)
    assert "2026-01-05" not in history  # closed referrals are not open
    views = audit_rows("entry.view")
    assert len(views) == 1 and views[0]["person_id"] == pid


def test_approve_over_html_redirects_with_a_notice(world, as_user):
    eid = entry(world)
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{eid}/approve", data=V1, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review?done=approve"
    assert "Đã duyệt" in alice.get(r.headers["location"]).text
    assert state_of(eid)["state"] == "approved"


def test_return_and_reject_over_html(world, as_user):
    a, b = entry(world), entry(world)
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{a}/return", data={"comment": "Thiếu ngày hẹn.", **V1},
                   follow_redirects=False)
    assert r.status_code == 303
    r = alice.post(f"/review/{b}/reject", data={"comment": "Trùng lặp.", **V1},
                   follow_redirects=False)
    assert r.status_code == 303
    assert state_of(a)["review_comment"] == "Thiếu ngày hẹn."
    assert state_of(b)["state"] == "rejected"


def test_missing_comment_is_a_422_page_with_the_error(world, as_user):
    eid = entry(world)
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{eid}/return", data={"comment": " ", **V1})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text
    r = alice.post(f"/review/{eid}/reject", data=V1)
    assert r.status_code == 422
    assert state_of(eid)["state"] == "submitted"


def test_a_refused_comment_is_kept_on_the_page(world, as_user):
    eid = entry(world)
    long = "Thiếu thông tin " * 200
    r = as_user(world["alice"]).post(f"/review/{eid}/return", data={"comment": long, **V1})
    assert r.status_code == 422
    assert long.strip() in r.text and "2000" in r.text
    assert state_of(eid)["state"] == "submitted"


def test_illegal_transition_answers_409_json_and_422_html(world, as_user):
    eid = entry(world, state="rejected")
    alice = as_user(world["alice"])
    r = alice.post(f"/review/{eid}/approve", data=V1, headers=JSON)
    assert r.status_code == 409
    assert "từ chối" in r.json()["detail"]
    r = alice.post(f"/review/{eid}/approve", data=V1)
    assert r.status_code == 422 and 'class="form-error"' in r.text
    ok = entry(world)
    r = alice.post(f"/review/{ok}/approve", data=V1, headers=JSON)
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = alice.post(f"/review/{ok}/return", data={"comment": "x", **V1}, headers=JSON)
    assert r.status_code == 409


def test_own_entry_over_http(world, as_user):
    eid = entry(world, author="alice")
    alice = as_user(world["alice"])
    page = alice.get(f"/review/{eid}")
    assert page.status_code == 200 and "/approve" not in re.sub(r"/review/approve", "", page.text)
    assert alice.post(f"/review/{eid}/approve", data=V1, headers=JSON).status_code == 403
    assert alice.post(f"/review/{eid}/approve", data=V1).status_code == 422
    assert state_of(eid)["state"] == "submitted"


def test_bulk_approve_over_http_reports_the_skipped(world, as_user):
    ok, back = entry(world), entry(world, state="returned")
    alice = as_user(world["alice"])
    r = alice.post("/review/approve", data={"ids": [f"{ok}:1", f"{back}:1"], "confirm": "1"})
    assert r.status_code == 200
    assert str(back)[:8] in r.text
    assert state_of(ok)["state"] == "approved" and state_of(back)["state"] == "returned"
    r = alice.post("/review/approve", data={"ids": f"{back}:1"}, headers=JSON)
    assert r.json() == {"approved": [], "skipped": [{"id": f"{back}:1",
                                                      "reason": "đã trả lại người ghi"}]}
    assert alice.post("/review/approve", data={}).status_code == 200


def _boxes(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="ids"[^>]*>', html)


def test_nothing_is_ticked_in_the_queue(world, as_user):
    entry(world), entry(world)
    boxes = _boxes(as_user(world["alice"]).get("/review").text)
    assert len(boxes) == 2
    assert [b for b in boxes if "checked" in b] == []


def test_bulk_approve_asks_once_with_the_count_and_the_list(world, as_user):
    picks = [entry(world) for _ in range(3)]
    alice = as_user(world["alice"])
    ids = [f"{p}:1" for p in picks]
    r = alice.post("/review/approve", data={"ids": ids})
    assert r.status_code == 200
    assert "Duyệt 3 bản ghi?" in r.text
    assert sorted(re.findall(r'name="ids" value="([^"]+)"', r.text)) == sorted(ids)
    assert 'name="confirm" value="1"' in r.text
    assert {state_of(p)["state"] for p in picks} == {"submitted"}  # nothing approved yet
    assert audit_rows("entry.approve") == []
    r = alice.post("/review/approve", data={"ids": ids, "confirm": "1"})
    assert r.status_code == 200 and "Đã duyệt 3 bản ghi." in r.text
    assert {state_of(p)["state"] for p in picks} == {"approved"}


def test_select_all_ticks_every_box_and_approves_nothing(world, as_user):
    picks = [entry(world), entry(world)]
    alice = as_user(world["alice"])
    assert [b for b in _boxes(alice.get("/review").text) if "checked" in b] == []
    r = alice.post("/review/approve", data={"select_all": "1"})
    assert r.status_code == 200
    boxes = _boxes(r.text)
    assert len(boxes) == 2 and all("checked" in b for b in boxes)
    assert {state_of(p)["state"] for p in picks} == {"submitted"}


# ---------------------------------------------------------------- who may see what


def test_isolation_matrix(world, as_user, client):
    eid = entry(world)
    alice, bob, carol = as_user(world["alice"]), as_user(world["bob"]), as_user(world["carol"])
    dave, eve = as_user(world["dave"]), as_user(world["eve"])
    assert alice.get("/review").status_code == 200
    assert alice.get(f"/review/{eid}").status_code == 200
    for volunteer in (bob, carol):
        assert volunteer.get("/review").status_code == 403
        assert volunteer.get(f"/review/{eid}").status_code == 403
        assert volunteer.post(f"/review/{eid}/approve").status_code == 403
    assert eve.get("/review").status_code == 403
    assert eve.post(f"/review/{eid}/approve").status_code == 403
    assert dave.get("/review").status_code == 200 and str(eid) not in dave.get("/review").text
    assert dave.get(f"/review/{eid}").status_code == 404
    for verb in ("approve", "return", "reject", "reopen"):
        assert dave.post(f"/review/{eid}/{verb}", data={"comment": "x", **V1}).status_code == 404
        assert dave.post(f"/review/{eid}/{verb}", data={"comment": "x"}).status_code == 404
    assert dave.post(f"/review/{eid}/approve", data=V1, headers=JSON).status_code == 404
    dave.post("/review/approve", data={"ids": f"{eid}:1"})
    r = client.get("/review", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/signin")
    assert client.get(f"/review/{eid}", follow_redirects=False).status_code in (302, 303)
    assert client.post(f"/review/{eid}/approve", headers=JSON).status_code == 401
    assert state_of(eid)["state"] == "submitted"
    assert alice.get("/review/00000000-0000-0000-0000-000000000000").status_code == 404
    assert alice.get("/review/not-a-uuid").status_code == 404
