"""Referrals: for a person or an unregistered contact, providers per commune, and the
follow-up state machine — every allowed and every illegal step — over HTTP and the API."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from server.records.queries import submit_record
from server.records.tables import Entry, Provider, ReferralEvent
from server.records.validation import vn_today
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
    assert [s["status"] for s in steps] == ["referred", "received"]


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
