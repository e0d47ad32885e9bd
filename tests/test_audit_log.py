"""The audit log: append-only in the database, tamper-evident by its hash chain (the CLI names
the first broken row), and browsable by a commune's officials."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import vntime
from server.audit.queries import record_event, verify_chain
from server.audit.tables import AuditEvent
from server.db import write_transaction
from server.piccolo_conf import DB
from server.review import queries as review
from server.web import CurrentUser
from tests.conftest import IS_PG, run
from tests.factories import make_entry, make_person

ROOT = Path(__file__).resolve().parent.parent


def alice(world) -> CurrentUser:
    return CurrentUser(id=world["alice"], role="official", name="alice", area_id=world["A"],
                       area_name="", area_level="commune")


def write_events(world, n: int = 3) -> list[int]:
    async def go() -> None:
        for i in range(n):
            async with write_transaction(AuditEvent._meta.db):
                await record_event("test.event", actor_id=world["alice"],
                                   commune_id=world["A"], subject_type="entry",
                                   subject_id=f"e{i}", detail={"i": i})

    run(go())
    return [r["id"] for r in run(AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id))]


def cli_verify() -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if IS_PG:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = DB.connection_kwargs["database"]
    return subprocess.run([sys.executable, "-m", "server.cli", "verify-audit"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_audit_rows_cannot_be_updated_or_deleted(world):
    ids = write_events(world, 2)
    with pytest.raises(Exception, match="append-only"):
        run(DB.run_ddl(f"UPDATE audit_event SET action = 'x' WHERE id = {ids[0]}"))
    with pytest.raises(Exception, match="append-only"):
        run(DB.run_ddl(f"DELETE FROM audit_event WHERE id = {ids[1]}"))
    assert run(verify_chain()) == (len(ids), None)


def test_an_edited_row_breaks_the_chain_and_the_cli_names_it(world):
    ids = write_events(world, 4)
    assert run(verify_chain()) == (4, None)
    ok = cli_verify()
    assert ok.returncode == 0, ok.stderr
    assert "intact: 4 rows" in ok.stdout
    victim = ids[2]
    if IS_PG:
        run(DB.run_ddl("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        run(DB.run_ddl("DROP TRIGGER audit_event_no_update"))
    try:
        run(DB.run_ddl(f"UPDATE audit_event SET actor_id = {world['bob']} WHERE id = {victim}"))
    finally:
        if IS_PG:
            run(DB.run_ddl("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    assert run(verify_chain()) == (2, victim)
    broken = cli_verify()
    assert broken.returncode == 1
    assert f"BROKEN at row id {victim}" in broken.stdout


def test_a_deleted_row_breaks_the_chain(world):
    ids = write_events(world, 3)
    if IS_PG:
        run(DB.run_ddl("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        run(DB.run_ddl("DROP TRIGGER audit_event_no_delete"))
    try:
        run(DB.run_ddl(f"DELETE FROM audit_event WHERE id = {ids[1]}"))
    finally:
        if IS_PG:
            run(DB.run_ddl("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    assert run(verify_chain()) == (1, ids[2])


# ---------------------------------------------------------------- browsing


def _decisions(world) -> dict:
    pid = run(make_person(world["A"], code="HK-0007", name="Đinh Văn Tâm"))
    a = run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid))
    b = run(make_entry("talk", commune=world["A"], author=world["carol"]))
    c = run(make_entry("visit", commune=world["B"], author=world["erin"]))
    run(review.approve_entry(alice(world), a, 1))
    run(review.return_entry(alice(world), b, 1, "Thiếu số người dự."))
    dave = CurrentUser(id=world["dave"], role="official", name="dave", area_id=world["B"],
                       area_name="", area_level="commune")
    run(review.reject_entry(dave, c, 1, "Không phải hoạt động thật."))
    return {"person": pid, "a": a, "b": b, "c": c}


def test_official_browses_own_commune_log_with_filters(world, as_user):
    made = _decisions(world)
    client = as_user(world["alice"])
    r = client.get("/audit")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert str(made["a"])[:8] in r.text and str(made["b"])[:8] in r.text
    assert str(made["c"])[:8] not in r.text  # commune B's row
    r = client.get("/audit?action=entry.return")
    assert str(made["b"])[:8] in r.text and str(made["a"])[:8] not in r.text
    assert "Thiếu số người dự." in r.text
    r = client.get("/audit?person=HK-0007")
    assert str(made["a"])[:8] in r.text and str(made["b"])[:8] not in r.text
    assert "Đinh Văn Tâm" in r.text
    r = client.get("/audit?person=HK-9999")
    assert "Không có người được hỗ trợ nào mang mã này" in r.text
    assert str(made["a"])[:8] not in r.text
    r = client.get(f"/audit?user={world['dave']}")
    assert str(made["a"])[:8] not in r.text
    today = vntime.today()
    r = client.get(f"/audit?since={today}&until={today}")
    assert str(made["a"])[:8] in r.text
    r = client.get(f"/audit?until={today - dt.timedelta(days=1)}")
    assert str(made["a"])[:8] not in r.text
    r = client.get("/audit?user=abc&since=nonsense&page=-4&person=" + "x" * 500)
    assert r.status_code == 200
    fragment = client.get("/audit?action=entry.approve", headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="audit-rows">')


def test_the_date_filter_takes_vietnam_days(world, as_user):
    """An event at 06:30 in Vietnam (23:30 UTC the day before) is filed under its Vietnam day:
    filtering by that day shows it, filtering by the day before does not."""
    at = dt.datetime(2026, 3, 10, 6, 30, tzinfo=vntime.VIETNAM)
    run(AuditEvent(at=at, actor_id=world["alice"], commune_id=world["A"], action="test.dawn",
                   subject_type="entry", subject_id="dawnvisi").save())
    alice = as_user(world["alice"])
    row = '<li class="review-item" id="audit-'
    same_day = alice.get("/audit?action=test.dawn&since=2026-03-10&until=2026-03-10")
    assert same_day.text.count(row) == 1 and "dawnvisi" in same_day.text
    day_before = alice.get("/audit?action=test.dawn&since=2026-03-09&until=2026-03-09")
    assert day_before.text.count(row) == 0
    assert alice.get("/audit?action=test.dawn&since=2026-03-10").text.count(row) == 1
    assert alice.get("/audit?action=test.dawn&until=2026-03-09").text.count(row) == 0


def test_audit_log_is_paginated(world, as_user):
    write_events(world, 60)
    client = as_user(world["alice"])
    first = client.get("/audit?action=test.event")
    assert first.text.count('<li class="review-item" id="audit-') == 50
    assert "page=2" in first.text and "action=test.event" in first.text
    second = client.get("/audit?action=test.event&page=2")
    assert second.text.count('<li class="review-item" id="audit-') == 10
    assert "page=3" not in second.text and "page=1" in second.text


def test_audit_log_isolation(world, as_user, client):
    _decisions(world)
    assert as_user(world["bob"]).get("/audit").status_code == 403
    assert as_user(world["eve"]).get("/audit").status_code == 403
    dave = as_user(world["dave"]).get("/audit")
    assert dave.status_code == 200
    assert "Không phải hoạt động thật." in dave.text and "Thiếu số người dự." not in dave.text
    r = client.get("/audit", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/signin")


def test_filter_ids_too_big_for_the_database_are_ignored(world, as_user):
    """32-bit ids on PostgreSQL: a huge number in a filter is "no match", never a 500."""
    alice = as_user(world["alice"])
    for url in ("/audit?user=99999999999", "/review?village=99999999999&author=99999999999"):
        assert alice.get(url).status_code == 200, url


def _every_character(chunk: int = 2000) -> list[str]:
    """Every code point but the surrogates, in pieces of `chunk` characters."""
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    return [text[i:i + chunk] for i in range(0, len(text), chunk)]


def test_a_plain_rows_fast_payload_is_the_json_payload_byte_for_byte():
    """record_events hashes a row whose detail is flat and plain with msgspec; the chain is
    verified with json.dumps (`_row_hash`): the two must be the same bytes for every
    character a text can hold."""
    import hashlib
    import json

    from server.audit.queries import Event, _instant, _plain_payload, _row_hash

    at = dt.datetime(2026, 11, 28, 5, 6, 7, 890123, tzinfo=dt.UTC)
    for piece in _every_character():
        e = Event("entry.submit", 7, 3, "entry", piece[:40], 2**40,
                  {"kind": piece, "version": 1, "ok": True, "none": None, piece[-5:]: -3})
        payload = _plain_payload("ab" * 32, _instant(at), e)
        assert payload is not None
        assert hashlib.sha256(payload).hexdigest() == _row_hash(
            "ab" * 32, at, e.actor_id, e.commune_id, e.action, e.subject_type, e.subject_id,
            e.person_id, json.loads(json.dumps(e.detail, ensure_ascii=False)))
    # Anything else takes json.dumps: a float, a nested value, a UUID, a subclass of int.
    import enum
    import uuid

    class Level(enum.IntEnum):
        one = 1

    for detail in ({"x": 0.1}, {"x": [1]}, {"x": {"y": 1}}, {"x": uuid.uuid4()},
                   {"x": Level.one}, {1: "a"}):
        assert _plain_payload("", _instant(at), Event("a", 1, 1, "", "", None, detail)) is None


def test_rows_of_every_kind_of_detail_written_together_verify(world):
    """One record_events call with plain and other details: the chain verifies, so each
    row's hash is the one verify_chain recomputes from the stored row."""
    import uuid

    from server.audit.queries import Event, record_events

    details = [{"kind": "visit", "version": 1, "receipt": "HK-0A1B2C3D"},
               {"note": "Người được hỗ trợ \u2028 \"trích\" \\ \t\n😀", "n": -2**40},
               {"ratio": 0.1, "step": 2}, {"list": [1, "a", None]},
               {"id": uuid.uuid4(), "nested": {"b": 1, "a": [True]}}, {}]
    events = [Event("test.batch", world["alice"], world["A"], "entry", f"s{i}",
                    None if i % 2 else 5, d) for i, d in enumerate(details)]

    async def go() -> None:
        async with write_transaction(AuditEvent._meta.db):
            await record_events(events)

    run(go())
    checked, broken = run(verify_chain())
    assert broken is None and checked >= len(details)
