"""Training sessions: the form (and its cached shell), the record's rules, who may record
(officials, and the volunteers the commune allows), commune isolation, sync and review, the
offline list of the commune's users, and the report figures against a hand-computed fixture."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from server.areas.queries import create_user, set_user_active
from server.audit.tables import AuditEvent
from server.records.queries import submit_record
from server.records.tables import Entry
from server.review.queries import approve_entry, reject_entry
from server.training.queries import set_recorders
from server.training.report import training_figures
from server.training.tables import TrainingParticipant, TrainingSession
from server.vntime import today as vn_today
from server.web import CurrentUser
from tests.conftest import run
from tests.test_visits import form_env

TODAY = vn_today()


def who(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


def training_form(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"date": TODAY.isoformat(), "title": "Tập huấn kỹ năng tư vấn",
                            "topics": ["counselling", "law"], "organisation": "",
                            "trainer": "Bác sĩ Lan", "place": "UBND xã", "participants": [],
                            "others_count": "12", "notes": ""}
    data.update(kw)
    return data


def api_body(**data: Any) -> dict[str, Any]:
    base = {"date": TODAY.isoformat(), "title": "Tập huấn", "topics": ["law"]}
    base.update(data)
    return {"id": str(uuid.uuid4()), "data": base}


def audit_actions(subject: str) -> list[str]:
    rows = run(AuditEvent.select(AuditEvent.action).where(AuditEvent.subject_id == subject)
               .order_by(AuditEvent.id))
    return [r["action"] for r in rows]


def test_form_lists_the_communes_users_and_the_shell_holds_no_names(world, as_user):
    alice = as_user(world["alice"])
    r = alice.get("/training/new")
    assert r.status_code == 200
    assert 'data-outbox-kind="training"' in r.text
    assert re.search(r'name="title" value=""[^>]*maxlength="200"[^>]*required', r.text)
    for name in ("Lê Thị Hoa", "Nguyễn Văn Bình", "Trần Thị Cúc"):
        assert name in r.text
    assert "Phạm Văn Dũng" not in r.text and "Hoàng Thị Én" not in r.text  # commune B
    assert f'type="checkbox" name="participants" value="{world["bob"]}"' in r.text
    shell = alice.get("/training/new?shell=1")
    assert shell.status_code == 200
    assert "data-users-picker" in shell.text
    assert "Nguyễn Văn Bình" not in shell.text and "Trần Thị Cúc" not in shell.text


def test_record_show_and_correct_through_the_form(world, as_user):
    alice = as_user(world["alice"])
    env = form_env(alice.get("/training/new").text)
    form = training_form(participants=[str(world["bob"]), str(world["carol"])],
                         organisation=str(world["org"]["LHPN"]))
    r = alice.post("/training", data={**form, **env}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = alice.get(r.headers["location"])
    assert "Nguyễn Văn Bình, Trần Thị Cúc" in page.text and "Hội Liên hiệp Phụ nữ" in page.text
    edit = alice.get(f"/entries/{env['id']}/edit")
    env2 = form_env(edit.text)
    assert env2["version"] == "2"
    assert f'value="{world["carol"]}" checked' in edit.text
    r = alice.post("/training", data={**training_form(participants=[str(world["bob"])]),
                                      **env2}, follow_redirects=False)
    assert r.status_code == 303
    got = alice.get(f"/api/v1/entries/{env['id']}").json()
    assert got["kind"] == "training" and got["meta"]["version"] == 2
    assert got["data"]["participants"] == [world["bob"]]
    rows = run(TrainingParticipant.select(TrainingParticipant.user).where(
        TrainingParticipant.entry == uuid.UUID(env["id"])))
    assert [r["user"] for r in rows] == [world["bob"]]
    assert audit_actions(env["id"]) == ["entry.submit", "entry.correct"]


def test_every_error_at_once_keeps_what_was_typed(world, as_user):
    alice = as_user(world["alice"])
    env = form_env(alice.get("/training/new").text)
    future = (TODAY + dt.timedelta(days=2)).isoformat()
    r = alice.post("/training", data={**training_form(
        title="", topics=[], date=future, others_count="-1", place="Nhà văn hóa thôn",
        participants=[str(world["bob"]), str(world["dave"])]), **env})
    assert r.status_code == 422
    for name in ("title", "topics", "date", "others_count"):
        assert f'id="err-{name}"' in r.text, name
    assert "Nhà văn hóa thôn" in r.text
    assert run(Entry.count().where(Entry.kind == "training")) == 0


def test_participants_must_be_users_of_the_same_commune(world, as_user):
    alice = as_user(world["alice"])
    r = alice.post("/api/v1/training", json=api_body(participants=[world["bob"], world["dave"]]))
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"participants"}
    r = alice.post("/api/v1/training", json=api_body(participants=[world["bob"], world["eve"]]))
    assert r.status_code == 422  # the province supervisor is no commune staff
    r = alice.post("/api/v1/training", json=api_body(participants=[world["bob"], 2**31 - 1]))
    assert r.status_code == 422
    r = alice.post("/api/v1/training", json=api_body(participants=[world["bob"],
                                                                   world["alice"]]))
    assert r.status_code == 201 and r.json()["outcome"] == "stored"


def test_date_in_the_future_is_refused(world, as_user):
    r = as_user(world["alice"]).post("/api/v1/training", json=api_body(
        date=(TODAY + dt.timedelta(days=1)).isoformat()))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"date"}


def test_who_may_record(world, as_user, client):
    body = api_body(participants=[world["bob"]])
    assert client.post("/api/v1/training", json=body).status_code == 401
    assert as_user(world["eve"]).post("/api/v1/training", json=body).status_code == 403
    assert as_user(world["eve"]).get("/training/new").status_code == 403
    bob = as_user(world["bob"])
    # A volunteer the commune has not named may not record training.
    assert bob.get("/training/new").status_code == 403
    assert bob.get("/api/v1/me/commune-users").status_code == 403
    assert bob.post("/api/v1/training", json=body).status_code == 404
    sync = bob.post("/api/v1/sync", json={"records": [{**body, "kind": "training"}]})
    assert sync.json()["results"][0]["outcome"] == "forbidden"
    assert "training-home" not in bob.get("/").text
    # Only officials keep the list; the volunteer cannot name himself.
    assert bob.post("/training/recorders", data={"user": str(world["bob"])}).status_code == 403
    alice = as_user(world["alice"])
    r = alice.post("/training/recorders", data={"user": [str(world["bob"]), str(world["dave"])]},
                   follow_redirects=False)
    assert r.status_code == 303
    settings = alice.get("/training").text
    assert re.search(rf'value="{world["bob"]}" checked', settings)
    assert bob.get("/training/new").status_code == 200
    assert "training-home" in bob.get("/").text
    r = bob.post("/api/v1/training", json=body)
    assert r.status_code == 201 and r.json()["outcome"] == "stored"
    # dave (another commune) was not added to commune A's list; the change is audited.
    actions = run(AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action == "training.recorders"))
    detail = actions[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"added": [world["bob"]], "removed": []}


def test_another_communes_session_answers_404(world, as_user):
    alice = as_user(world["alice"])
    body = api_body(participants=[world["bob"]])
    assert alice.post("/api/v1/training", json=body).status_code == 201
    dave = as_user(world["dave"])
    for url in (f"/entries/{body['id']}", f"/entries/{body['id']}/edit",
                f"/api/v1/entries/{body['id']}", f"/review/{body['id']}"):
        assert dave.get(url).status_code == 404, url
    # dave cannot overwrite it under the same id either
    r = dave.post("/api/v1/training", json={**body, "data": {**body["data"],
                                                              "participants": []}})
    assert r.status_code == 404
    assert body["id"] not in dave.get("/training").text


def test_sync_stores_once_and_review_decides(world, as_user):
    run(set_recorders(who(world["alice"], "official", world["A"]), [world["carol"]]))
    carol = as_user(world["carol"])
    record = {**api_body(participants=[world["alice"], world["bob"]], others_count=4),
              "kind": "training", "version": 1, "recorded_at": "2026-03-01T08:00:00+07:00"}
    first = carol.post("/api/v1/sync", json={"records": [record]}).json()["results"][0]
    again = carol.post("/api/v1/sync", json={"records": [record]}).json()["results"][0]
    assert first["outcome"] == "stored" and again["outcome"] == "unchanged"
    assert again["receipt"] == first["receipt"]
    assert run(Entry.count().where(Entry.id == uuid.UUID(record["id"]))) == 1
    assert run(TrainingSession.count().where(
        TrainingSession.entry == uuid.UUID(record["id"]))) == 1
    alice = as_user(world["alice"])
    queue = alice.get("/review?kind=").text
    assert f'/review/{record["id"]}' in queue and "Buổi tập huấn" in queue
    review = alice.get(f"/review/{record['id']}")
    assert review.status_code == 200 and f'/entries/{record["id"]}' in review.text
    r = alice.post(f"/review/{record['id']}/approve", data={"version": 1},
                   follow_redirects=False)
    assert r.status_code == 303
    assert run(Entry.select(Entry.state).where(Entry.id == uuid.UUID(record["id"])).first())[
        "state"] == "approved"


def test_commune_users_for_the_phone_are_names_only(world, as_user):
    got = as_user(world["alice"]).get("/api/v1/me/commune-users")
    assert got.status_code == 200
    users = got.json()["users"]
    assert {u["name"] for u in users} == {"Lê Thị Hoa", "Nguyễn Văn Bình", "Trần Thị Cúc"}
    assert all(set(u) == {"id", "name"} for u in users)
    assert as_user(world["eve"]).get("/api/v1/me/commune-users").status_code == 403


# ---------------------------------------------------------------- report figures


def _session(author: CurrentUser, day: dt.date, participants: list[int], others: int,
             topics: list[str], organisation: int | None = None) -> uuid.UUID:
    entry_id = uuid.uuid4()
    data: dict[str, Any] = {"date": day.isoformat(), "title": f"Buổi {day}", "topics": topics,
                            "participants": participants, "others_count": others}
    if organisation:
        data["organisation"] = organisation
    result = run(submit_record(author, "training", entry_id, 1, dt.datetime.now(dt.UTC),
                               data))
    assert result.outcome == "stored", result
    return entry_id


def test_report_figures_against_a_hand_computed_fixture(world):
    a, b = world["A"], world["B"]
    alice, dave = who(world["alice"], "official", a), who(world["dave"], "official", b)
    frank = run(create_user(display_name="Đỗ Văn Phát", role="volunteer", area_id=a,
                            organisation_id=None, phone=""))
    gina = run(create_user(display_name="Mai Thị Giang", role="volunteer", area_id=a,
                           organisation_id=None, phone=""))
    run(set_recorders(alice, [world["carol"]]))
    run(set_recorders(dave, [world["erin"]]))
    carol, erin = who(world["carol"], "volunteer", a), who(world["erin"], "volunteer", b)
    start, end = TODAY - dt.timedelta(days=200), TODAY

    s1 = _session(carol, TODAY - dt.timedelta(days=150), [world["alice"], world["bob"]], 10,
                  ["law", "prevention"], world["org"]["DTN"])
    s2 = _session(carol, TODAY - dt.timedelta(days=100), [world["bob"], frank], 5, ["law"])
    _session(carol, TODAY - dt.timedelta(days=50), [gina], 7, ["records"])  # pending
    s4 = _session(carol, TODAY - dt.timedelta(days=40), [world["carol"]], 3, ["stigma"])
    s5 = _session(carol, TODAY - dt.timedelta(days=300), [world["carol"]], 2, ["law"])
    s6 = _session(erin, TODAY - dt.timedelta(days=90), [world["dave"], world["erin"]], 3,
                  ["voluntary_rehab"])
    for entry in (s1, s2, s5):
        run(approve_entry(alice, entry, 1))
    run(reject_entry(alice, s4, 1, "Trùng với buổi khác"))
    run(approve_entry(dave, s6, 1))
    run(set_user_active(frank, False))  # left: no longer counted as staff

    # Commune A: s1 and s2 count (s3 pending, s4 rejected, s5 before the period).
    # Places: alice, bob, bob, frank (4) + 10 + 5 others. Staff: alice, bob, carol, gina
    # (frank inactive); trained among them: alice, bob.
    assert run(training_figures([a], start, end)) == {
        "sessions": 2, "participants": 19, "participants_staff": 4, "participants_other": 15,
        "staff_total": 4, "staff_trained": 2, "share_trained": 50.0, "target_pct": 80,
        "target_met": False, "by_topic": {"law": 2, "prevention": 1},
        "by_organisation": {"": 1, "Đoàn Thanh niên": 1}, "pending": 1}
    # Commune B alone: both of its staff trained — more than 80%.
    got_b = run(training_figures([b], start, end))
    assert (got_b["sessions"], got_b["staff_trained"], got_b["staff_total"],
            got_b["share_trained"], got_b["target_met"]) == (1, 2, 2, 100.0, True)
    # Both communes (a district or province roll-up): numbers add up, the share is recomputed.
    both = run(training_figures([a, b], start, end))
    assert (both["sessions"], both["participants"], both["staff_trained"],
            both["staff_total"], both["share_trained"]) == (3, 24, 4, 6, 66.7)
    assert both["by_topic"] == {"law": 2, "prevention": 1, "voluntary_rehab": 1}
    # A commune without staff has no share (not 0%).
    empty = run(training_figures([world["province"]], start, end))
    assert empty["share_trained"] is None and empty["target_met"] is False


def test_report_partial_renders_the_figures(app):
    from server.training.report import training_report_context

    figures = {"sessions": 2, "participants": 19, "participants_staff": 4,
               "participants_other": 15, "staff_total": 4, "staff_trained": 2,
               "share_trained": 50.0, "target_pct": 80, "target_met": False,
               "by_topic": {"law": 2, "prevention": 1},
               "by_organisation": {"": 1, "Đoàn Thanh niên": 1}, "pending": 1}
    html = app.template_engine.get_template("training/_report.html").render(
        **training_report_context(figures))
    assert 'id="training-share">50,0%' in html and 'id="training-staff">2 / 4' in html
    assert "Chưa đạt." in html and "Luật và nghị định về ma túy" in html
    assert "trên 80% cán bộ" in html and "Đang chờ duyệt, chưa tính ở trên: 1 buổi." in html


def test_an_odd_version_in_the_form_is_a_4xx_and_keeps_the_form(world, as_user):
    alice = as_user(world["alice"])
    env = form_env(alice.get("/training/new").text)
    r = alice.post("/training", data={**training_form(place="Nhà văn hóa"), **env,
                                      "version": "²"})
    assert r.status_code == 422 and "Nhà văn hóa" in r.text
