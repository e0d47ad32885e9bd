"""Outreach talks over HTTP: form, save, list, correct, isolation, validation, API."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from server.vntime import today as vn_today
from tests.conftest import run
from tests.factories import make_entry
from tests.test_visits import form_env


def talk_form(village, **kw):
    data = {"date": vn_today().isoformat(), "village": str(village), "setting": "school",
            "format": "talk", "topics": ["law", "harms"], "organisation": "",
            "attendees_total": "120", "attendees_women": "60", "attendees_under30": "100",
            "attendees_students": "95", "materials": "200", "notes": "Trường THCS"}
    data.update(kw)
    return data


def test_new_talk_form_has_constraints_and_defaults(world, as_user):
    r = as_user(world["bob"]).get("/talks/new")
    assert r.status_code == 200
    assert 'data-outbox-kind="talk"' in r.text
    assert re.search(r'type="number" name="attendees_total" value=""[^>]*min="0"[^>]*'
                     r'max="100000"[^>]*required', r.text)
    assert 'type="checkbox" name="topics" value="law"' in r.text
    # bob belongs to the Youth Union: it is preselected as the organiser
    assert re.search(f'<option value="{world["org"]["DTN"]}" selected>', r.text)
    # villages are the commune's own only
    assert f'value="{world["villages"]["HT"][0]}"' not in r.text


def test_create_list_and_correct(world, as_user):
    bob = as_user(world["bob"])
    village = world["villages"]["HK"][3]
    env = form_env(bob.get("/talks/new").text)
    r = bob.post("/talks", data={**talk_form(village), **env}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = bob.get(r.headers["location"])
    assert "Thôn Kim Sơn" in page.text and "120" in page.text
    assert "/entries/" in bob.get("/entries?kind=talk").text
    edit = bob.get(f"/entries/{env['id']}/edit")
    env2 = form_env(edit.text)
    assert env2["version"] == "2" and 'value="law" checked' in edit.text
    r = bob.post("/talks", data={**talk_form(village, attendees_total="130"), **env2},
                 follow_redirects=False)
    assert r.status_code == 303
    got = bob.get(f"/api/v1/entries/{env['id']}").json()
    assert got["data"]["attendees_total"] == 130 and got["meta"]["version"] == 2


def test_every_error_at_once(world, as_user):
    bob = as_user(world["bob"])
    env = form_env(bob.get("/talks/new").text)
    r = bob.post("/talks", data={**talk_form(world["villages"]["HK"][0], attendees_total="10",
                                             attendees_women="11", attendees_under30="-3",
                                             attendees_students="abc", topics=[],
                                             setting="moon", date="2026-13-01",
                                             notes="còn đây"), **env})
    assert r.status_code == 422
    for name in ("attendees_women", "attendees_under30", "attendees_students", "topics",
                 "setting", "date"):
        assert f'id="err-{name}"' in r.text, name
    assert "còn đây" in r.text


def test_api_and_isolation(world, as_user, client):
    body = {"id": str(uuid.uuid4()), "data": {
        "date": vn_today().isoformat(), "village": world["villages"]["HK"][0],
        "topics": ["law"], "attendees_total": 30, "attendees_women": 12}}
    assert client.post("/api/v1/talks", json=body).status_code == 401
    assert as_user(world["eve"]).post("/api/v1/talks", json=body).status_code == 403
    assert as_user(world["dave"]).post("/api/v1/talks", json=body).status_code == 404
    r = as_user(world["carol"]).post("/api/v1/talks", json=body)
    assert r.status_code == 201 and r.json()["outcome"] == "stored"
    # the same id from another author is not theirs
    assert as_user(world["bob"]).post("/api/v1/talks", json=body).status_code == 404
    future = dict(body, id=str(uuid.uuid4()))
    future["data"] = dict(body["data"], date=(vn_today() + dt.timedelta(days=1)).isoformat(),
                          attendees_total=-1, format="dance")
    r = as_user(world["carol"]).post("/api/v1/talks", json=future)
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"date", "attendees_total", "format"}


def test_approved_talk_cannot_be_corrected(world, as_user):
    rid = run(make_entry("talk", commune=world["A"], author=world["bob"],
                         village=world["villages"]["HK"][0], state="approved"))
    bob = as_user(world["bob"])
    assert bob.get(f"/entries/{rid}/edit").status_code == 409
    body = {"id": str(rid), "version": 2, "data": {
        "date": "2026-03-10", "village": world["villages"]["HK"][0], "topics": ["law"],
        "attendees_total": 30}}
    assert bob.post("/api/v1/talks", json=body).status_code == 409


def test_talk_entry_isolation(world, as_user, client):
    rid = run(make_entry("talk", commune=world["A"], author=world["carol"],
                         village=world["villages"]["HK"][0]))
    expect = {"carol": 200, "alice": 200, "bob": 404, "dave": 404, "erin": 404, "eve": 403}
    for name, status in expect.items():
        assert as_user(world[name]).get(f"/entries/{rid}").status_code == status, name
    assert as_user(world["bob"]).get(f"/entries/{rid}/edit").status_code == 404
    assert client.get(f"/api/v1/entries/{rid}").status_code == 401
