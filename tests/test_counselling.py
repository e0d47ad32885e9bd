"""Counselling contacts (the hotline): the form and its cached shell, the record's rules, an
anonymous caller who leaves no identity, the link to the referral a contact made, the
follow-up to-do list and its audited closing, who may record (officials and the commune's
counsellors), commune isolation, sync, and the report figures against a hand-computed
fixture."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import msgspec

from schema.records import CounsellingIn
from server.areas.tables import User
from server.audit.tables import AuditEvent
from server.counselling.queries import close_follow_up, list_open_follow_ups, set_counsellors
from server.counselling.report import counselling_figures
from server.counselling.tables import CounsellingContact
from server.records.queries import submit_record
from server.records.tables import Entry, EntryVersion
from server.review.queries import approve_entry, reject_entry
from server.vntime import today as vn_today
from server.web import CurrentUser
from tests.conftest import DB, IS_PG, run
from tests.factories import make_entry, make_person
from tests.sqlcount import count_sql
from tests.test_visits import form_env

TODAY = vn_today()


def who(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


def name_bob_counsellor(world: dict[str, Any]) -> None:
    run(set_counsellors(who(world["alice"], "official", world["A"]), [world["bob"]]))


def contact(**data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"date": TODAY.isoformat(), "time": "00:00", "channel": "hotline",
                            "asker": "family", "topics": ["rehab"], "actions": ["advice"]}
    base.update(data)
    return {"id": str(uuid.uuid4()), "data": base}


def test_form_says_plainly_that_no_caller_identity_is_kept(world, as_user):
    name_bob_counsellor(world)
    pid = run(make_person(world["A"], name="Hoàng Văn Tư", team=[world["bob"]]))
    bob = as_user(world["bob"])
    r = bob.get("/counselling/new")
    assert r.status_code == 200 and 'data-outbox-kind="counselling"' in r.text
    assert "Không lưu bất cứ thông tin nào về người gọi" in r.text
    assert 'type="time" name="time"' in r.text
    assert f'<option value="{pid}"' in r.text
    shell = bob.get("/counselling/new?shell=1")
    assert "Hoàng Văn Tư" not in shell.text and 'name="time" value=""' in shell.text
    # The contract itself has nowhere to put a caller's name or number.
    names = {f.name for f in msgspec.inspect.type_info(CounsellingIn).fields}  # type: ignore[union-attr]
    assert not {n for n in names if "name" in n or "phone" in n or "caller" in n}


def test_anonymous_caller_stores_no_identity(world, as_user):
    name_bob_counsellor(world)
    pid = run(make_person(world["A"], team=[world["bob"]]))
    bob = as_user(world["bob"])
    body = contact(asker="anonymous", caller_name="Nguyễn Thị Ẩn", caller_phone="0987654321",
                   notes="Hỏi về methadone")
    r = bob.post("/api/v1/counselling", json=body)
    assert r.status_code == 201, r.text
    eid = uuid.UUID(body["id"])
    row = run(Entry.select(Entry.person, Entry.village).where(Entry.id == eid).first())
    assert row == {"person": None, "village": None}
    stored = json.dumps(run(EntryVersion.select(EntryVersion.data).where(
        EntryVersion.entry == eid)), default=str, ensure_ascii=False)
    stored += json.dumps(run(CounsellingContact.select().where(
        CounsellingContact.entry == eid)), default=str, ensure_ascii=False)
    stored += json.dumps(run(AuditEvent.select(AuditEvent.detail, AuditEvent.person_id).where(
        AuditEvent.subject_id == body["id"])), default=str, ensure_ascii=False)
    assert "Nguyễn Thị Ẩn" not in stored and "0987654321" not in stored
    assert "caller" not in stored
    # An anonymous caller cannot be tied to a registered person.
    r = bob.post("/api/v1/counselling", json=contact(asker="anonymous", person=pid))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"person"}
    r = bob.post("/api/v1/counselling", json=contact(asker="person", person=pid))
    assert r.status_code == 201


def test_every_error_at_once_and_no_future(world, as_user):
    alice = as_user(world["alice"])
    env = form_env(alice.get("/counselling/new").text)
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    r = alice.post("/counselling", data={"date": future, "time": "25:61", "channel": "fax",
                                         "asker": "", "notes": "Đã gọi lại", **env})
    assert r.status_code == 422
    for name in ("date", "time", "channel", "asker", "topics", "actions"):
        assert f'id="err-{name}"' in r.text, name
    assert "Đã gọi lại" in r.text
    r = alice.post("/api/v1/counselling", json=contact(date=future))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"date"}
    r = alice.post("/api/v1/counselling", json=contact(time="23:59"))
    if r.status_code == 422:  # later than now, today (unless it is 23:54 or later)
        assert set(r.json()["errors"]) == {"time"}
    r = alice.post("/api/v1/counselling", json=contact(follow_up=True))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"follow_up_note"}
    assert run(Entry.count().where(Entry.kind == "counselling")) == 0


def test_a_contact_links_the_referral_it_made(world, as_user):
    name_bob_counsellor(world)
    pid = run(make_person(world["A"], team=[world["bob"]]))
    bob = as_user(world["bob"])
    ref = {"id": str(uuid.uuid4()), "data": {"person": pid, "date": TODAY.isoformat(),
                                             "service": "methadone", "reason": "Muốn điều trị"}}
    made = bob.post("/api/v1/referrals", json=ref)
    assert made.status_code == 201
    assert ref["id"] in bob.get("/counselling/new").text  # offered in the form's list
    body = contact(asker="person", person=pid, actions=["advice", "referral"],
                   referral=ref["id"])
    r = bob.post("/api/v1/counselling", json=body)
    assert r.status_code == 201, r.text
    page = bob.get(f"/entries/{body['id']}").text
    assert made.json()["receipt"] in page  # the referral it made, named on its page
    linked = run(CounsellingContact.select(CounsellingContact.referral).where(
        CounsellingContact.entry == uuid.UUID(body["id"])).first())
    assert str(linked["referral"]) == ref["id"]
    # the referral must be one of the commune's referrals, and "referral" must be done
    other = run(make_entry("referral", commune=world["B"], author=world["erin"]))
    r = bob.post("/api/v1/counselling", json=contact(actions=["referral"], referral=str(other)))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"referral"}
    r = bob.post("/api/v1/counselling", json=contact(actions=["advice"], referral=ref["id"]))
    assert r.status_code == 422 and set(r.json()["errors"]) == {"actions"}


def test_follow_up_stays_on_the_home_page_until_closed(world, as_user):
    name_bob_counsellor(world)
    bob = as_user(world["bob"])
    body = contact(follow_up=True, follow_up_note="Gọi lại thứ Hai")
    assert bob.post("/api/v1/counselling", json=body).status_code == 201
    home = bob.get("/").text
    assert "Gọi lại thứ Hai" in home and f'/counselling/{body["id"]}/close' in home
    mine = bob.get("/entries?kind=counselling")
    assert mine.status_code == 200 and f'/entries/{body["id"]}' in mine.text
    assert "Lượt tư vấn" in mine.text
    assert "Gọi lại thứ Hai" in as_user(world["alice"]).get("/").text  # officials see all
    # Not the author's nor an official of the commune: 404, nothing closed.
    assert as_user(world["dave"]).post(f"/counselling/{body['id']}/close",
                                       data={"note": "x"}).status_code == 404
    assert as_user(world["carol"]).post(f"/counselling/{body['id']}/close",
                                        data={"note": "x"}).status_code == 404
    r = bob.post(f"/counselling/{body['id']}/close", data={"note": "Đã gọi, ổn", "next": "/"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Gọi lại thứ Hai" not in bob.get("/").text
    # closing again changes nothing and writes no second audit row
    bob.post(f"/counselling/{body['id']}/close", data={"note": "again"})
    rows = run(AuditEvent.select(AuditEvent.actor_id).where(
        (AuditEvent.action == "counselling.follow_up_closed")
        & (AuditEvent.subject_id == body["id"])))
    assert rows == [{"actor_id": world["bob"]}]
    # a correction keeps it closed
    r = bob.post("/api/v1/counselling", json={**body, "version": 2, "data": {
        **body["data"], "notes": "bổ sung"}})
    assert r.status_code == 201
    assert "Gọi lại thứ Hai" not in bob.get("/").text


def _open_follow_ups_world(world: dict[str, Any]) -> dict[str, Any]:
    """Open, closed and rejected follow-ups of bob and alice in commune A, one in B."""
    name_bob_counsellor(world)
    bob, alice = who(world["bob"], "volunteer", world["A"]), \
        who(world["alice"], "official", world["A"])
    b_official = who(world["dave"], "official", world["B"])
    f = {"channel": "hotline", "asker": "family", "topics": ["rehab"], "actions": ["advice"]}
    ids = {
        "bob_open": _contact(bob, 3, **f, follow_up=True, follow_up_note="b1"),
        "bob_open_later": _contact(bob, 1, **f, follow_up=True, follow_up_note="b2"),
        "bob_closed": _contact(bob, 2, **f, follow_up=True, follow_up_note="b3"),
        "bob_rejected": _contact(bob, 4, **f, follow_up=True, follow_up_note="b4"),
        "bob_no_follow_up": _contact(bob, 2, **f),
        "alice_open": _contact(alice, 2, **f, follow_up=True, follow_up_note="a1"),
        "other_commune": _contact(b_official, 2, **f, follow_up=True, follow_up_note="x"),
    }
    run(close_follow_up(bob, ids["bob_closed"], ""))
    run(reject_entry(alice, ids["bob_rejected"], 1, "sai"))
    return {"bob": bob, "alice": alice, "ids": ids}


def test_open_follow_ups_are_exactly_the_open_ones_in_date_order(world):
    w = _open_follow_ups_world(world)
    ids = w["ids"]
    mine = run(list_open_follow_ups(w["bob"]))
    assert [r["id"] for r in mine] == [ids["bob_open"], ids["bob_open_later"]]
    assert [r["follow_up_note"] for r in mine] == ["b1", "b2"]
    assert {(r["author"], r["state"], r["follow_up"], r["follow_up_closed_on"]) for r in mine} \
        == {(world["bob"], "submitted", True, None)}
    assert mine[0]["entry_date"] == TODAY - dt.timedelta(days=3)
    assert mine[0]["channel"] == "hotline" and mine[0]["asker"] is not None
    commune = run(list_open_follow_ups(w["alice"]))
    assert [r["id"] for r in commune] == [ids["bob_open"], ids["alice_open"],
                                          ids["bob_open_later"]]
    users = {r["id"]: r["display_name"] for r in run(User.select(User.id, User.display_name))}
    assert [r["author_name"] for r in commune] == [users[world["bob"]], users[world["alice"]],
                                                   users[world["bob"]]]


def _plan(sql: str) -> str:
    """The plan the database makes of a statement as the app sent it (placeholders unbound)."""
    if IS_PG:
        import asyncpg

        async def explain() -> str:
            conn = await asyncpg.connect(DB.config["dsn"])
            try:
                # Seq scans off: the few test rows would make a scan cheapest, and the question
                # is whether the index can serve this statement at all.
                await conn.execute("SET enable_seqscan = off")
                await conn.execute("SET plan_cache_mode = force_generic_plan")
                await conn.execute(f"PREPARE s AS {sql}")
                n = sql.count("$")
                rows = await conn.fetch(
                    f"EXPLAIN EXECUTE s({', '.join(['NULL'] * n)})" if n else "EXPLAIN EXECUTE s")
                return "\n".join(r[0] for r in rows)
            finally:
                await conn.close()

        return run(explain())
    import sqlite3

    conn = sqlite3.connect(DB.connection_kwargs["database"])
    try:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?")).fetchall()
        return "\n".join(str(r[-1]) for r in rows)
    finally:
        conn.close()


def test_the_to_do_list_reads_the_open_follow_ups_from_their_index(world):
    """The to-do list starts from the open follow-ups (a partial index), never from a pass
    over the commune's entries: at province scale that pass took 31–195 ms for an empty list."""
    w = _open_follow_ups_world(world)
    for user in (w["alice"], w["bob"]):
        with count_sql() as sql:
            run(list_open_follow_ups(user))
        assert sql.count == 1, sql.report()
        plan = _plan(sql.statements[0])
        assert "counselling_contact_open_follow_up" in plan, plan
        if not IS_PG:  # the commune's entries are never the outer loop
            first = plan.splitlines()[0]
            assert first.startswith("SCAN c") or "counselling_contact" in first, plan


def test_who_may_record_and_isolation(world, as_user, client):
    body = contact()
    assert client.post("/api/v1/counselling", json=body).status_code == 401
    assert as_user(world["eve"]).post("/api/v1/counselling", json=body).status_code == 403
    assert as_user(world["eve"]).get("/counselling/new").status_code == 403
    carol = as_user(world["carol"])
    assert carol.get("/counselling/new").status_code == 403
    assert carol.post("/api/v1/counselling", json=body).status_code == 404
    sync = carol.post("/api/v1/sync", json={"records": [{**body, "kind": "counselling"}]})
    assert sync.json()["results"][0]["outcome"] == "forbidden"
    alice = as_user(world["alice"])
    assert carol.post("/counselling/counsellors", data={"user": str(world["carol"])}) \
        .status_code == 403
    r = alice.post("/counselling/counsellors", data={"user": [str(world["carol"]),
                                                              str(world["erin"])]},
                   follow_redirects=False)
    assert r.status_code == 303
    assert re.search(rf'value="{world["carol"]}" checked', alice.get("/counselling").text)
    assert re.search(rf'value="{world["erin"]}"', alice.get("/counselling").text) is None
    first = carol.post("/api/v1/sync", json={"records": [{**body, "kind": "counselling"}]})
    again = carol.post("/api/v1/sync", json={"records": [{**body, "kind": "counselling"}]})
    assert first.json()["results"][0]["outcome"] == "stored"
    assert again.json()["results"][0]["outcome"] == "unchanged"
    assert run(Entry.count().where(Entry.id == uuid.UUID(body["id"]))) == 1
    dave = as_user(world["dave"])
    for url in (f"/entries/{body['id']}", f"/api/v1/entries/{body['id']}",
                f"/review/{body['id']}"):
        assert dave.get(url).status_code == 404, url
    # A person of another commune cannot be named.
    other = run(make_person(world["B"]))
    r = alice.post("/api/v1/counselling", json=contact(asker="person", person=other))
    assert r.status_code == 404
    # The review queue shows it and the decision goes through the review machinery.
    assert f'/review/{body["id"]}' in alice.get("/review").text
    assert alice.post(f"/review/{body['id']}/approve", data={"version": 1},
                      follow_redirects=False) \
        .status_code == 303


# ---------------------------------------------------------------- report figures


def _contact(author: CurrentUser, days_ago: int, **data: Any) -> uuid.UUID:
    entry_id = uuid.uuid4()
    payload = {"date": (TODAY - dt.timedelta(days=days_ago)).isoformat(), "time": "00:00",
               **data}
    result = run(submit_record(author, "counselling", entry_id, 1, dt.datetime.now(dt.UTC),
                               payload))
    assert result.outcome == "stored", result
    return entry_id


def test_report_figures_against_a_hand_computed_fixture(world):
    a, b = world["A"], world["B"]
    alice, dave = who(world["alice"], "official", a), who(world["dave"], "official", b)
    run(set_counsellors(alice, [world["bob"]]))
    run(set_counsellors(dave, [world["erin"]]))
    bob, erin = who(world["bob"], "volunteer", a), who(world["erin"], "volunteer", b)
    pid = run(make_person(world["A"], team=[world["bob"]]))
    done_ref = run(make_entry("referral", commune=a, author=world["bob"], person=pid,
                              state="approved", ref_status="closed",
                              ref_outcome="completed"))
    open_ref = run(make_entry("referral", commune=a, author=world["bob"], person=pid))
    start, end = TODAY - dt.timedelta(days=100), TODAY - dt.timedelta(days=1)

    c1 = _contact(bob, 90, channel="hotline", asker="anonymous", topics=["rehab", "law"],
                  actions=["advice", "information"])
    c2 = _contact(bob, 60, channel="zalo_phone", asker="family", person=pid,
                  topics=["relapse"], actions=["referral", "advice"], referral=str(done_ref),
                  follow_up=True, follow_up_note="Hỏi lại")
    c3 = _contact(bob, 30, channel="home", asker="person", person=pid, topics=["jobs"],
                  actions=["referral"], referral=str(open_ref), follow_up=True,
                  follow_up_note="Đi cùng đến nơi khám")
    c4 = _contact(bob, 20, channel="hotline", asker="school", topics=["law"],
                  actions=["referral"])  # a referral made, not linked
    _contact(bob, 10, channel="hotline", asker="anonymous", topics=["hiv"],
             actions=["advice"])  # pending
    c6 = _contact(bob, 5, channel="commune", asker="community", topics=["other"],
                  actions=["information"])
    c7 = _contact(bob, 200, channel="hotline", asker="family", topics=["law"],
                  actions=["advice"])  # before the period
    c8 = _contact(bob, 0, channel="hotline", asker="family", topics=["law"],
                  actions=["advice"])  # after the period (today)
    c9 = _contact(erin, 40, channel="hotline", asker="anonymous", topics=["methadone"],
                  actions=["information"])
    for entry in (c1, c2, c3, c4, c7, c8):
        run(approve_entry(alice, entry, 1))
    run(reject_entry(alice, c6, 1, "Ghi nhầm"))
    run(approve_entry(dave, c9, 1))
    run(close_follow_up(bob, c2, ""))  # closed today: after the period, so still open at its end

    zero = {"rehab": 0, "methadone": 0, "law": 0, "family": 0, "mental_health": 0,
            "relapse": 0, "jobs": 0, "hiv": 0, "other": 0}
    # Commune A, approved in the period: c1, c2, c3, c4.
    assert run(counselling_figures([a], start, end)) == {
        "contacts": 4,
        "by_channel": {"hotline": 2, "zalo_phone": 1, "commune": 0, "home": 1},
        "by_asker": {"person": 1, "family": 1, "community": 0, "school": 1, "anonymous": 1},
        "anonymous": 1,
        "by_topic": {**zero, "rehab": 1, "law": 2, "relapse": 1, "jobs": 1},
        "by_action": {"advice": 2, "information": 1, "referral": 3},
        "referrals_made": 3, "referrals_linked": 2, "referrals_completed": 1,
        "follow_up_needed": 2, "follow_up_open": 2, "pending": 1}
    # Up to today, c2's follow-up is closed and c8 counts.
    upto_today = run(counselling_figures([a], start, TODAY))
    assert (upto_today["contacts"], upto_today["follow_up_open"]) == (5, 1)
    both = run(counselling_figures([a, b], start, end))
    assert (both["contacts"], both["anonymous"], both["by_topic"]["methadone"],
            both["by_action"]["information"]) == (5, 2, 1, 2)


def test_report_partial_renders_the_figures(app):
    from server.counselling.report import counselling_report_context

    figures = {"contacts": 4, "by_channel": {"hotline": 2, "zalo_phone": 1, "commune": 0,
                                             "home": 1},
               "by_asker": {"person": 1, "family": 1, "community": 0, "school": 1,
                            "anonymous": 1}, "anonymous": 1,
               "by_topic": {"rehab": 1, "law": 2}, "by_action": {"advice": 2, "referral": 3},
               "referrals_made": 3, "referrals_linked": 2, "referrals_completed": 1,
               "follow_up_needed": 2, "follow_up_open": 2, "pending": 1}
    html = app.template_engine.get_template("counselling/_report.html").render(
        **counselling_report_context(figures))
    assert 'id="counselling-contacts">4' in html and 'id="counselling-referrals">3' in html
    assert 'id="counselling-channel-hotline">2' in html and "Gọi đường dây nóng" in html
    assert 'id="counselling-by_asker-anonymous">1' in html and "Giấu tên" in html


def test_odd_input_gets_a_clear_4xx(world, as_user):
    alice = as_user(world["alice"])
    odd = [{"time": "²:00"}, {"referral": "not-a-uuid"}, {"person": 2**63},
           {"topics": "rehab"}, {"actions": [None]}, {"date": "9999-12-31"},
           {"date": "0001-01-01", "time": "1"}, {"follow_up": "perhaps"}]
    for data in odd:
        r = alice.post("/api/v1/counselling", json=contact(**data))
        assert r.status_code == 422, (data, r.status_code)
    for url in ("/counselling/²/close", f"/counselling/{uuid.uuid4()}/close"):
        assert alice.post(url, data={"note": "x"}).status_code == 404
    r = alice.post("/counselling/counsellors", data={"user": [str(2**63), "²", "-1"]},
                   follow_redirects=False)
    assert r.status_code == 303
    r = alice.post("/api/v1/training", json={"id": str(uuid.uuid4()), "data": {
        "date": TODAY.isoformat(), "title": "x", "topics": ["law"],
        "participants": ["²", 2**63]}})
    assert r.status_code == 422 and set(r.json()["errors"]) == {"participants"}
