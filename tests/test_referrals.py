"""Referrals: for a person or an unregistered contact, providers per commune, and the
follow-up state machine — every allowed and every illegal step — over HTTP and the API."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from server.records.queries import submit_record
from server.records.tables import Entry, Provider, ReferralEvent
from server.review import queries as review
from server.vntime import today as vn_today
from tests.conftest import run
from tests.factories import make_entry, make_person
from tests.test_records import cu
from tests.test_visits import form_env

NOW = dt.datetime.now(dt.UTC)
TODAY = vn_today().isoformat()

# What the follow-up allows, written out here independently of the code under test.
LEGAL = {
    ("referred", "received", None), ("referred", "closed", "declined"),
    ("referred", "closed", "no_show"), ("referred", "closed", "cancelled"),
    ("received", "attended", None), ("received", "closed", "declined"),
    ("received", "closed", "no_show"), ("received", "closed", "cancelled"),
    ("attended", "closed", "completed"), ("attended", "closed", "declined"),
}
STATUSES = ("referred", "received", "attended", "closed")
OUTCOMES = (None, "completed", "declined", "no_show", "cancelled")


@pytest.fixture
def pid(world):
    return run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                           start=dt.date(2025, 1, 1)))


@pytest.fixture
def provider(world):
    return run(Provider.insert(Provider(commune=world["A"], name="Trạm y tế Hoằng Kim",
                                        service="health_station")).returning(Provider.id)
               )[0]["id"]


# The steps that lead a referral to each status, recorded through the real write path.
PATHS = {"referred": [], "received": [("received", None)],
         "attended": [("received", None), ("attended", None)],
         "closed": [("received", None), ("attended", None), ("closed", "completed")]}


def _step(user, ref, status, outcome=None, day=TODAY, step_id=None, version=1, note=""):
    data = {"referral": str(ref), "status": status, "date": day, "note": note}
    if outcome:
        data["outcome"] = outcome
    return run(submit_record(user, "referral_status", step_id or uuid.uuid4(), version, NOW,
                             data))


def test_every_allowed_and_every_illegal_step(world, pid):
    bob = cu(world, "bob")
    for current, status, outcome in itertools.product(STATUSES, STATUSES, OUTCOMES):
        ref = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                             entry_date=dt.date(2026, 1, 5), ref_status_date=dt.date(2026, 1, 5)))
        for before, before_outcome in PATHS[current]:
            assert _step(bob, ref, before, before_outcome).outcome == "stored"
        data = {"referral": str(ref), "status": status, "date": TODAY}
        if outcome:
            data["outcome"] = outcome
        res = run(submit_record(bob, "referral_status", uuid.uuid4(), 1, NOW, data))
        row = run(Entry.select(Entry.ref_status, Entry.ref_outcome).where(Entry.id == ref)
                  .first().run())
        if (current, status, outcome) in LEGAL:
            assert res.outcome == "stored", (current, status, outcome, res.errors)
            assert row["ref_status"] == status and row["ref_outcome"] == outcome
        else:
            assert res.outcome == "invalid", (current, status, outcome)
            assert set(res.errors) <= {"status", "outcome"} and res.errors
            assert row["ref_status"] == current


def test_step_dates_and_idempotency(world, pid):
    bob = cu(world, "bob")
    ref = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                         entry_date=dt.date(2026, 3, 1), ref_status_date=dt.date(2026, 3, 1)))
    step = {"referral": str(ref), "status": "received", "date": "2026-02-27"}
    res = run(submit_record(bob, "referral_status", uuid.uuid4(), 1, NOW, step))
    assert res.outcome == "invalid" and "01/03/2026" in res.errors["date"]
    step["date"] = (vn_today() + dt.timedelta(days=1)).isoformat()
    assert run(submit_record(bob, "referral_status", uuid.uuid4(), 1, NOW, step)) \
        .outcome == "invalid"
    step["date"] = TODAY
    sid = uuid.uuid4()
    first = run(submit_record(bob, "referral_status", sid, 1, NOW, step))
    again = run(submit_record(bob, "referral_status", sid, 1, NOW, step))
    assert first.outcome == "stored" and again.outcome == "unchanged"
    assert again.receipt == first.receipt
    changed = run(submit_record(bob, "referral_status", sid, 1, NOW,
                                {**step, "note": "khác"}))
    assert changed.outcome == "conflict"
    assert run(ReferralEvent.count().where(ReferralEvent.referral == ref).run()) == 1


def test_follow_up_access(world, pid):
    ref = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid))
    step = {"referral": str(ref), "status": "received", "date": TODAY}
    for name in ("carol", "dave", "erin", "eve"):
        res = run(submit_record(cu(world, name), "referral_status", uuid.uuid4(), 1, NOW, step))
        assert res.outcome == "forbidden", name
    assert run(submit_record(cu(world, "alice"), "referral_status", uuid.uuid4(), 1, NOW,
                             step)).outcome == "stored"


def test_form_for_a_person_then_timeline_and_status_form(world, as_user, pid, provider):
    bob = as_user(world["bob"])
    page = bob.get(f"/referrals/new?person={pid}")
    assert page.status_code == 200 and 'data-outbox-kind="referral"' in page.text
    assert "Trạm y tế Hoằng Kim" in page.text
    env = form_env(page.text)
    data = {"person": str(pid), "date": TODAY, "service": "health_station",
            "provider": str(provider), "reason": "Khám sức khỏe", "urgency": "normal", **env}
    r = bob.post("/referrals", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/referrals/{env['id']}?saved=1"
    show = bob.get(f"/referrals/{env['id']}")
    assert 'data-outbox-kind="referral_status"' in show.text and "Trạm y tế Hoằng Kim" in show.text
    senv = form_env(show.text.split('id="referral-status-form"')[1])
    # an illegal jump is refused next to its field
    r = bob.post(f"/referrals/{env['id']}/status",
                 data={"status": "attended", "date": TODAY, **senv})
    assert r.status_code == 422 and 'id="err-status"' in r.text
    for status, outcome in (("received", ""), ("attended", ""), ("closed", "completed")):
        senv = form_env(bob.get(f"/referrals/{env['id']}").text
                        .split('id="referral-status-form"')[1])
        r = bob.post(f"/referrals/{env['id']}/status",
                     data={"status": status, "outcome": outcome, "date": TODAY,
                           "note": f"bước {status}", **senv}, follow_redirects=False)
        assert r.status_code == 303, r.text
    show = bob.get(f"/referrals/{env['id']}")
    assert 'id="referral-status-form"' not in show.text
    assert show.text.count("Nguyễn Văn Bình") >= 4 and "bước attended" in show.text


def test_unregistered_contact_and_all_errors(world, as_user, provider):
    bob = as_user(world["bob"])
    env = form_env(bob.get("/referrals/new").text)
    r = bob.post("/referrals", data={"date": TODAY, "service": "", "reason": "", **env})
    assert r.status_code == 422
    for name in ("person", "service", "reason"):
        assert f'id="err-{name}"' in r.text, name
    other = run(Provider.insert(Provider(commune=world["B"], name="Khác",
                                         service="legal_aid")).returning(Provider.id))[0]["id"]
    r = bob.post("/referrals", data={"date": TODAY, "service": "legal_aid", "reason": "x",
                                     "contact_sex": "male", "provider": str(other), **env})
    assert r.status_code == 422
    assert 'id="err-contact_alias"' in r.text and 'id="err-provider"' in r.text
    r = bob.post("/referrals", data={"date": TODAY, "service": "counselling",
                                     "reason": "Căng thẳng", "contact_alias": "Anh T.",
                                     "contact_sex": "male", "contact_age_band": "18_29",
                                     "provider": str(provider), **env}, follow_redirects=False)
    assert r.status_code == 303
    got = bob.get(f"/api/v1/entries/{env['id']}").json()
    assert got["kind"] == "referral" and got["data"]["contact_alias"] == "Anh T."
    assert "person" not in got["data"] or got["data"]["person"] is None
    assert got["follow_up"]["status"] == "referred"


def test_api_status_endpoint(world, as_user, pid):
    ref = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid))
    bob = as_user(world["bob"])
    body = {"id": str(uuid.uuid4()), "data": {"status": "received", "date": TODAY}}
    r = bob.post(f"/api/v1/referrals/{ref}/status", json=body)
    assert r.status_code == 201, r.text
    assert bob.post(f"/api/v1/referrals/{ref}/status", json=body).status_code == 200
    bad = {"id": str(uuid.uuid4()), "data": {"status": "closed", "date": "2020-01-01"}}
    r = bob.post(f"/api/v1/referrals/{ref}/status", json=bad)
    assert r.status_code == 422 and set(r.json()["errors"]) == {"outcome", "date"}
    assert as_user(world["dave"]).post(f"/api/v1/referrals/{ref}/status",
                                       json=body).status_code == 404
    assert as_user(world["bob"]).post(f"/api/v1/referrals/{uuid.uuid4()}/status",
                                      json=body).status_code == 404
    steps = bob.get(f"/api/v1/entries/{ref}").json()["follow_up"]["steps"]
    assert [(s["status"], s["state"]) for s in steps] == [("referred", "submitted"),
                                                         ("received", "submitted")]
    # The step is an entry of its own: the API gives it as stored, like any other kind.
    step = bob.get(f"/api/v1/entries/{body['id']}")
    assert step.status_code == 200, step.text
    got = step.json()
    assert got["kind"] == "referral_status" and got["meta"]["id"] == body["id"]
    assert got["data"] == {"referral": str(ref), "status": "received", "outcome": None,
                           "date": TODAY, "note": ""}


def test_providers_page_is_for_officials_of_the_commune(world, as_user, client, provider):
    alice = as_user(world["alice"])
    r = alice.get("/referrals/providers")
    assert r.status_code == 200 and "Trạm y tế Hoằng Kim" in r.text
    r = alice.post("/referrals/providers", data={"name": "", "service": "x"})
    assert r.status_code == 422 and r.text.count('class="field-error"') == 2
    r = alice.post("/referrals/providers", data={"name": "Phòng khám Methadone",
                                                 "service": "methadone"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert "Phòng khám Methadone" in as_user(world["bob"]).get("/referrals/new").text
    r = alice.post(f"/referrals/providers/{provider}/active", data={"active": "0"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert "Trạm y tế Hoằng Kim" not in as_user(world["bob"]).get("/referrals/new").text
    assert as_user(world["bob"]).get("/referrals/providers").status_code == 403
    assert as_user(world["eve"]).get("/referrals/providers").status_code == 403
    assert as_user(world["dave"]).post(f"/referrals/providers/{provider}/active",
                                       data={"active": "1"}).status_code == 404
    assert client.get("/referrals/providers", follow_redirects=False).status_code in (302, 303)


def test_list_correct_lock_and_isolation(world, as_user, client, pid, provider):
    bob = as_user(world["bob"])
    rid = str(uuid.uuid4())
    body = {"id": rid, "data": {"person": pid, "date": TODAY, "service": "health_station",
                                "provider": provider, "reason": "Khám", "urgency": "urgent"}}
    assert bob.post("/api/v1/referrals", json=body).status_code == 201
    listing = bob.get("/entries?kind=referral")
    assert listing.text.count('class="entry-row"') == 1 and f"/entries/{rid}/edit" in listing.text
    edit = bob.get(f"/entries/{rid}/edit")
    assert form_env(edit.text)["version"] == "2" and "Khám" in edit.text
    body2 = {**body, "version": 2, "data": {**body["data"], "reason": "Khám lại"}}
    r = bob.post("/api/v1/referrals", json=body2)
    assert r.status_code == 201 and r.json()["version"] == 2
    expect = {"bob": 200, "alice": 200, "carol": 404, "dave": 404, "erin": 404, "eve": 403}
    for name, status in expect.items():
        assert as_user(world[name]).get(f"/referrals/{rid}").status_code == status, name
    assert client.get(f"/referrals/{rid}", follow_redirects=False).status_code in (302, 303)
    run(Entry.update({Entry.state: "approved"}).where(Entry.id == uuid.UUID(rid)).run())
    body3 = {**body, "version": 3, "data": {**body["data"], "reason": "x"}}
    assert bob.post("/api/v1/referrals", json=body3).status_code == 409
    assert bob.get(f"/entries/{rid}/edit").status_code == 409
    # an approved referral still follows up: each step is an entry of its own, in review
    step = {"id": str(uuid.uuid4()), "data": {"status": "received", "date": TODAY}}
    r = bob.post(f"/api/v1/referrals/{rid}/status", json=step)
    assert r.status_code == 201 and r.json()["state"] == "submitted"
    # a visit's page is not a referral page
    vid = run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid))
    assert bob.get(f"/referrals/{vid}").status_code == 404


# ---------------------------------------------------------------- steps are reviewed entries


def _referral(world, pid, day=None, **over):
    rid = uuid.uuid4()
    data = {"person": pid, "date": (day or vn_today()).isoformat(),
            "service": "health_station", "reason": "Khám", "urgency": "normal", **over}
    assert run(submit_record(cu(world, "bob"), "referral", rid, 1, NOW, data)).outcome == "stored"
    return rid


def _current(ref):
    return run(Entry.select(Entry.ref_status, Entry.ref_outcome).where(Entry.id == ref)
               .first())


def test_a_step_waits_in_the_queue_and_is_decided_like_any_entry(world, as_user, pid):
    from server.audit.tables import AuditEvent

    ref = _referral(world, pid)
    sid = uuid.uuid4()
    res = _step(cu(world, "bob"), ref, "received", step_id=sid, note="Đã gọi cơ sở")
    assert (res.outcome, res.state) == ("stored", "submitted")
    bob = as_user(world["bob"])
    cursor = bob.get("/api/v1/me/updates").json()["cursor"]
    alice = as_user(world["alice"])
    queue = alice.get("/review?kind=referral_status").text
    assert f'value="{sid}:1"' in queue and str(ref) not in queue
    assert "Bước theo dõi chuyển gửi" in queue and "Cơ sở đã tiếp nhận" in queue
    page = alice.get(f"/review/{sid}")
    assert page.status_code == 200 and f'href="/review/{ref}"' in page.text
    assert "Đã gọi cơ sở" in page.text and 'name="version" value="1"' in page.text
    r = alice.post(f"/review/{sid}/approve", data={"version": "1"}, follow_redirects=False)
    assert r.status_code == 303
    row = run(Entry.select(Entry.state, Entry.reviewed_by).where(Entry.id == sid).first())
    assert row == {"state": "approved", "reviewed_by": world["alice"]}
    events = run(AuditEvent.select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.subject_id == str(sid)).order_by(AuditEvent.id))
    assert [e["action"] for e in events] == ["entry.submit", "entry.view", "entry.approve"]
    feed = bob.get("/api/v1/me/updates", params={"since": cursor}).json()["updates"]
    assert [(u["id"], u["kind"], u["state"]) for u in feed] == [
        (str(sid), "referral_status", "approved")]
    # the volunteer's timeline shows each step with its review state
    timeline = bob.get(f"/referrals/{ref}").text
    assert "Cơ sở đã tiếp nhận" in timeline and 'class="badge approved"' in timeline
    # an official cannot review a step they recorded themselves
    own = uuid.uuid4()
    _step(cu(world, "alice"), ref, "attended", step_id=own)
    r = alice.post(f"/review/{own}/approve", data={"version": "1"},
                   headers={"accept": "application/json"})
    assert r.status_code == 403


def test_next_step_while_one_waits_and_a_rejected_step_does_not_count(world, pid):
    bob, alice = cu(world, "bob"), cu(world, "alice")
    ref = _referral(world, pid, day=vn_today() - dt.timedelta(days=10))
    day = (vn_today() - dt.timedelta(days=8)).isoformat()
    received, attended = uuid.uuid4(), uuid.uuid4()
    assert _step(bob, ref, "received", day=day, step_id=received).outcome == "stored"
    assert _current(ref) == {"ref_status": "received", "ref_outcome": None}
    # the next step may be recorded while the previous one waits for review
    assert _step(bob, ref, "attended", step_id=attended).outcome == "stored"
    assert _current(ref)["ref_status"] == "attended"
    # rejecting a waiting step: it no longer counts; the current status is the latest
    # step that is not rejected
    run(review.reject_entry(alice, received, 1, "Sai cơ sở."))
    assert _current(ref)["ref_status"] == "attended"
    run(review.reject_entry(alice, attended, 1, "Chưa đi khám."))
    assert _current(ref) == {"ref_status": "referred", "ref_outcome": None}
    # a rejected step does not block its place: it can be recorded again
    again = _step(bob, ref, "received", day=day)
    assert again.outcome == "stored"
    assert _current(ref)["ref_status"] == "received"
    # but a step that is still live does
    dup = _step(bob, ref, "received", day=day)
    assert dup.outcome == "invalid" and "đã có bước" in dup.errors["status"]


def test_a_step_fits_between_its_neighbours(world, pid):
    bob, alice = cu(world, "bob"), cu(world, "alice")
    ref = _referral(world, pid, day=vn_today() - dt.timedelta(days=10))
    first = uuid.uuid4()
    _step(bob, ref, "received", day=(vn_today() - dt.timedelta(days=9)).isoformat(),
          step_id=first)
    _step(bob, ref, "attended", day=(vn_today() - dt.timedelta(days=5)).isoformat())
    run(review.reject_entry(alice, first, 1, "Sai ngày."))
    # "received" again, now between the referral and the waiting "attended"
    late = _step(bob, ref, "received", day=(vn_today() - dt.timedelta(days=3)).isoformat())
    assert late.outcome == "invalid" and "bước tiếp theo" in late.errors["date"]
    ok = _step(bob, ref, "received", day=(vn_today() - dt.timedelta(days=7)).isoformat())
    assert ok.outcome == "stored"
    # closing as "declined" straight after "referred" cannot sit before "attended"
    closed = _step(bob, ref, "closed", "completed")
    assert closed.outcome == "stored"
    assert _current(ref) == {"ref_status": "closed", "ref_outcome": "completed"}


def test_two_steps_from_the_same_status_at_once_store_one(world, pid):
    import asyncio

    bob = cu(world, "bob")
    ref = _referral(world, pid)

    async def both():
        data = {"referral": str(ref), "status": "received", "date": TODAY}
        return await asyncio.gather(*(submit_record(bob, "referral_status", uuid.uuid4(), 1, NOW,
                                                    data) for _ in range(2)))

    outcomes = sorted(r.outcome for r in run(both()))
    assert outcomes == ["invalid", "stored"]


def test_a_returned_step_is_corrected_in_its_referral_form(world, as_user, pid):
    from server.records.tables import EntryVersion

    ref = _referral(world, pid, day=vn_today() - dt.timedelta(days=4))
    sid = uuid.uuid4()
    _step(cu(world, "bob"), ref, "received", step_id=sid)
    run(review.return_entry(cu(world, "alice"), sid, 1, "Ghi đúng ngày cơ sở nhận."))
    bob = as_user(world["bob"])
    page = bob.get(f"/entries/{sid}")  # from the volunteer's notifications and entries
    assert page.status_code == 200 and f'href="/referrals/{ref}"' in page.text
    assert "Ghi đúng ngày cơ sở nhận." in page.text and "Bước theo dõi chuyển gửi" in page.text
    assert f"/entries/{sid}" in bob.get("/notifications").text
    r = bob.get(f"/entries/{sid}/edit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/referrals/{ref}?fix={sid}"
    page = bob.get(r.headers["location"]).text
    form = page.split('id="referral-status-form"')[1]
    env = form_env(form)
    assert env["id"] == str(sid) and env["version"] == "2"
    assert "Ghi đúng ngày cơ sở nhận." in page
    day = (vn_today() - dt.timedelta(days=2)).isoformat()
    r = bob.post(f"/referrals/{ref}/status", data={"status": "received", "date": day,
                                                   "note": "Sửa ngày", **env},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    row = run(Entry.select(Entry.state, Entry.version, Entry.ref_status_date).where(
        Entry.id == sid).first())
    assert row == {"state": "submitted", "version": 2,
                   "ref_status_date": dt.date.fromisoformat(day)}
    event = run(ReferralEvent.select(ReferralEvent.event_date, ReferralEvent.note).where(
        ReferralEvent.id == sid).first())
    assert event == {"event_date": dt.date.fromisoformat(day), "note": "Sửa ngày"}
    assert run(EntryVersion.count().where(EntryVersion.entry == sid)) == 2
    # the reviewer sees what the correction changed
    diff = as_user(world["alice"]).get(f"/review/{sid}").text
    assert "Sửa ngày" in diff[diff.index("review-diff"):]


def test_reports_count_approved_steps_only(world, pid):
    from server.reports import queries as reports
    from server.reports.periods import Period

    bob, alice = cu(world, "bob"), cu(world, "alice")
    start = vn_today() - dt.timedelta(days=6)
    ref = _referral(world, pid, day=start)
    run(review.approve_entry(alice, ref, 1))
    received, attended = uuid.uuid4(), uuid.uuid4()
    _step(bob, ref, "received", day=(start + dt.timedelta(days=1)).isoformat(),
          step_id=received)
    _step(bob, ref, "attended", day=(start + dt.timedelta(days=4)).isoformat(),
          step_id=attended)
    run(review.approve_entry(alice, received, 1))
    period = Period(kind="custom", start=start - dt.timedelta(days=1), end=vn_today())
    ids = [world["A"]]

    def by_status():
        return {(r["status"], r["outcome"]): r["n"]
                for r in run(reports.count_referrals(ids, period))}

    # the attended step waits: the referral counts as received, and nobody has attended yet
    assert by_status() == {("received", None): 1}
    assert run(reports.median_days_to_attended(ids, period)) == (0, None)
    run(review.approve_entry(alice, attended, 1))
    assert by_status() == {("attended", None): 1}
    assert run(reports.median_days_to_attended(ids, period)) == (1, 4.0)
    # the figure's entry list uses the same approved follow-up
    listed = run(reports.list_entries_behind(world["A"], period, kind="referral",
                                             pending=False, column="ref_status",
                                             value="attended"))
    assert [r["id"] for r in listed] == [str(ref)]
