"""The batch write path of sync (server.records.batch): a batch answers record by record
exactly as the records would be answered sent one at a time, in order; its audit rows chain
and verify; its feed numbers are the author's next ones, one per stored record; and every
channel shares one envelope with one version bound."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.conftest import run
from tests.factories import make_person
from tests.test_sync import _rec, _setup, _visit
from tests.test_talks import talk_form


def _entries(ids: list[str]) -> dict[str, dict]:
    from server.records.tables import Entry

    rows = run(Entry.select(Entry.id, Entry.version, Entry.change_seq, Entry.kind).where(
        Entry.id.is_in([uuid.UUID(i) for i in ids])))
    return {str(r["id"]): r for r in rows}


def _audit_after(last_id: int) -> list[dict]:
    from server.audit.tables import AuditEvent

    return run(AuditEvent.select(AuditEvent.id, AuditEvent.action, AuditEvent.subject_id,
                                 AuditEvent.person_id, AuditEvent.actor_id).where(
        (AuditEvent.id > last_id) & AuditEvent.action.like("entry.%")).order_by(AuditEvent.id))


def _last_audit_id() -> int:
    from server.audit.tables import AuditEvent

    row = run(AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first())
    return int(row["id"]) if row else 0


def test_mixed_batch_answers_each_record_as_if_sent_alone_in_order(world, as_user):
    pid = _setup(world)
    theirs = run(make_person(world["A"], team=[world["carol"]]))  # not on bob's team
    village = world["villages"]["HK"][0]
    bob = as_user(world["bob"])
    first = _rec(_visit(pid, notes="một"))
    corrected = dict(first, version=2, data=_visit(pid, notes="một, sửa"))
    talk = _rec(talk_form(village), kind="talk")
    stale = _rec(_visit(pid), version=3)  # no such record yet: a conflict at version 0
    batch = [
        first,                                     # stored (batch path)
        dict(first),                               # the same again: unchanged
        dict(first, data=_visit(pid, notes="x")),  # same id and version, other content
        talk,                                      # stored (one-record path, in its place)
        corrected,                                 # a correction of `first`: stored, v2
        _rec(_visit(theirs)),                      # not bob's person: forbidden
        _rec(_visit(pid, date="2099-01-01")),      # invalid, with the field's error
        _rec(_visit(pid, date="2024-12-31")),      # before the register start: invalid
        stale,
        dict(talk, kind="visit"),                  # a visit under the talk's id: conflict
        _rec(_visit(pid, notes="hai")),            # stored
    ]
    results = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [r["outcome"] for r in results] == [
        "stored", "unchanged", "conflict", "stored", "stored", "forbidden", "invalid",
        "invalid", "conflict", "conflict", "stored"]
    assert [r["id"] for r in results] == [b["id"] for b in batch]
    assert results[1]["receipt"] == results[0]["receipt"]
    assert results[4]["version"] == 2 and results[4]["receipt"] != results[0]["receipt"]
    assert set(results[6]["errors"]) == {"date"}
    assert set(results[7]["errors"]) == {"date"}
    assert results[8]["version"] == 0
    stored = _entries([first["id"], talk["id"], batch[-1]["id"]])
    assert stored[first["id"]]["version"] == 2 and stored[talk["id"]]["kind"] == "talk"

    # The same batch again: nothing new, every stored record answers from its row.
    again = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [r["outcome"] for r in again] == [
        "conflict", "conflict", "conflict", "unchanged", "unchanged", "forbidden", "invalid",
        "invalid", "conflict", "conflict", "unchanged"]


def test_batch_audit_rows_chain_and_verify(world, as_user):
    from server.audit.queries import verify_chain

    pid = _setup(world)
    bob = as_user(world["bob"])
    before = _last_audit_id()
    batches = [[_rec(_visit(pid, notes=f"{b}-{i}")) for i in range(40)] for b in range(3)]
    for batch in batches:
        results = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
        assert [r["outcome"] for r in results] == ["stored"] * 40
    rows = _audit_after(before)
    # One `entry.submit` per stored visit, in the order the phone sent them, by bob, naming
    # the person.
    assert [r["subject_id"] for r in rows] == [r["id"] for b in batches for r in b]
    assert {(r["action"], r["actor_id"], r["person_id"]) for r in rows} == {
        ("entry.submit", world["bob"], pid)}
    checked, broken = run(verify_chain())
    assert broken is None and checked >= 120


def test_batch_takes_the_authors_next_feed_numbers_one_per_stored_record(world, as_user):
    from server.records.feed_queries import current_change_seq

    pid = _setup(world)
    bob = as_user(world["bob"])
    cursor = bob.get("/api/v1/me/updates").json()["cursor"]
    start = run(current_change_seq(world["bob"]))
    batch = [_rec(_visit(pid, notes=f"#{i}")) for i in range(100)]
    bad = _rec(_visit(pid, date="2099-01-01"))
    results = bob.post("/api/v1/sync", json={"records": [*batch, bad]}).json()["results"]
    assert [r["outcome"] for r in results] == ["stored"] * 100 + ["invalid"]
    assert run(current_change_seq(world["bob"])) == start + 100
    seqs = sorted(e["change_seq"] for e in _entries([b["id"] for b in batch]).values())
    assert seqs == list(range(start + 1, start + 101))
    feed = bob.get("/api/v1/me/updates", params={"since": cursor}).json()
    assert {u["id"] for u in feed["updates"]} == {b["id"] for b in batch}


def test_one_version_bound_on_every_channel(world, as_user):
    from schema.records import MAX_VERSION

    pid = _setup(world)
    bob = as_user(world["bob"])
    bob.cookies.set("lang", "en")
    too_high = _rec(_visit(pid), version=MAX_VERSION + 1)
    res = bob.post("/api/v1/sync", json={"records": [too_high]}).json()["results"][0]
    assert res["outcome"] == "invalid" and set(res["errors"]) == {"version"}
    api = bob.post("/api/v1/visits", json={"id": too_high["id"], "version": MAX_VERSION + 1,
                                           "data": _visit(pid)})
    assert api.status_code == 422 and set(api.json()["errors"]) == {"version"}
    # The highest allowed version of an unknown record is a conflict, not a refusal.
    top = _rec(_visit(pid), version=MAX_VERSION)
    res = bob.post("/api/v1/sync", json={"records": [top]}).json()["results"][0]
    assert res["outcome"] == "conflict" and res["version"] == 0
    # The OpenAPI bodies of the JSON API and of sync state the same bound.
    spec = bob.get("/schema/openapi.json").json()["paths"]

    def version_of(path: str) -> dict:
        body = spec[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        if path == "/api/v1/sync":
            body = body["properties"]["records"]["items"]
        return body["properties"]["version"]

    assert version_of("/api/v1/sync")["maximum"] == MAX_VERSION
    assert version_of("/api/v1/visits")["maximum"] == MAX_VERSION


def test_batch_written_by_a_volunteer_no_longer_on_the_team_is_forbidden(world, as_user):
    """Team membership is read once per batch, and still decides every record."""
    from server.people.tables import TeamMember

    pid = _setup(world)
    other = run(make_person(world["A"], team=[world["bob"]], start=dt.date(2025, 1, 1)))
    bob = as_user(world["bob"])
    run(TeamMember.update({TeamMember.end_date: dt.date(2026, 11, 1)}).where(
        (TeamMember.person == other) & (TeamMember.user == world["bob"])))
    results = bob.post("/api/v1/sync", json={"records": [
        _rec(_visit(pid)), _rec(_visit(other)), _rec(_visit(pid, notes="b"))]}).json()["results"]
    assert [r["outcome"] for r in results] == ["stored", "forbidden", "stored"]


def test_content_hash_is_the_json_dumps_hash_for_every_character():
    """A record sent again is recognised by its content hash, stored when it first came:
    canonical_hash must stay json.dumps's hash whatever encodes it (msgspec, for the built-in
    kinds), for every character the text fields can hold and every built-in kind."""
    import hashlib
    import json

    from server.records.queries import canonical_hash
    from tests.test_audit_log import _every_character

    def reference(kind: str, data: dict) -> str:
        text = json.dumps({"kind": kind, **data}, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    samples = {
        "visit": {"person": 2**31 - 1, "date": "2026-11-20", "visit_kind": "home", "met": False,
                  "not_met_reason": "away", "health": "", "support": ["counselling", "job"],
                  "next_visit_date": None, "notes": ""},
        "talk": {"date": "2026-11-20", "village": 4, "topics": ["law"], "attendees_total": 0,
                 "organisation": None, "notes": ""},
        "referral": {"person": None, "contact_alias": "", "date": "2026-11-20",
                     "service": "methadone", "reason": "", "notes": ""},
        "referral_status": {"referral": str(uuid.uuid4()), "status": "closed",
                            "outcome": None, "date": "2026-11-20", "note": ""},
    }
    text_field = {"visit": "notes", "talk": "notes", "referral": "reason",
                  "referral_status": "note"}
    for piece in _every_character():
        for kind, data in samples.items():
            record = dict(data, **{text_field[kind]: piece})
            assert canonical_hash(kind, record) == reference(kind, record), kind


def test_batch_row_and_version_text_are_the_one_record_paths(world, as_user):
    """A visit stored by the batch path (on PostgreSQL one array per column, server.bulk)
    has every entry column and the version's stored text that the one-record path
    (`submit_record`, /api/v1/visits) writes for the same content."""
    from server.records.tables import Entry, EntryVersion

    pid = _setup(world)
    bob = as_user(world["bob"])
    data = _visit(pid, health="Khá hơn", work="Làm thuê", family="", next_step="Gọi lại",
                  next_visit_date="2026-12-01", support=["legal", "counselling", "legal"],
                  notes="Ổn định — \"trích\" \\ ✓")
    batch = _rec(data)
    res = bob.post("/api/v1/sync", json={"records": [batch]}).json()["results"][0]
    assert res["outcome"] == "stored"
    single = str(uuid.uuid4())
    api = bob.post("/api/v1/visits", json={"id": single, "version": 1, "data": data})
    assert api.status_code == 201, api.text

    differ = {"id", "receipt", "recorded_at", "received_at", "updated_at", "change_seq"}
    rows = {str(r["id"]): r for r in run(Entry.select().where(
        Entry.id.is_in([uuid.UUID(batch["id"]), uuid.UUID(single)])))}
    by_batch, by_one = rows[batch["id"]], rows[single]
    assert {k: v for k, v in by_batch.items() if k not in differ} \
        == {k: v for k, v in by_one.items() if k not in differ}
    assert by_batch["village"] == world["villages"]["HK"][0] and by_batch["support"]
    texts = {str(r["entry"]): r["data"] for r in run(EntryVersion.select(
        EntryVersion.entry, EntryVersion.data).where(
        EntryVersion.entry.is_in([uuid.UUID(batch["id"]), uuid.UUID(single)])))}
    assert texts[batch["id"]] == texts[single]
