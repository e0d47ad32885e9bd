"""POST /api/v1/sync: exactly once, one answer per record, and the update feed."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from tests.conftest import IS_PG, run
from tests.factories import make_person


def _visit(person: int, **over):
    data = {"person": person, "date": "2026-11-20", "visit_kind": "home", "met": True,
            "drug_signs": "none", "risk": "low", "support": ["counselling"], "notes": "Ổn định"}
    data.update(over)
    return data


def _rec(data, kind="visit", rid=None, version=1):
    return {"id": str(rid or uuid.uuid4()), "kind": kind, "version": version,
            "recorded_at": "2026-11-20T02:30:00Z", "data": data}


def _setup(world):
    return run(make_person(world["A"], village=world["villages"]["HK"][0],
                           team=[world["bob"]], start=dt.date(2025, 1, 1)))


def _count(rid) -> int:
    from server.records.tables import Entry

    return run(Entry.count().where(Entry.id == uuid.UUID(rid)))


def test_batch_stores_each_record_once_and_replay_is_unchanged(world, as_user):
    pid = _setup(world)
    bob = as_user(world["bob"])
    batch = [_rec(_visit(pid)), _rec(_visit(pid, date="2026-11-21"))]
    r = bob.post("/api/v1/sync", json={"records": batch})
    # 200, not 201: the request creates nothing as a whole; each record has its outcome.
    assert r.status_code == 200, r.text
    first = r.json()["results"]
    assert [x["outcome"] for x in first] == ["stored", "stored"]
    assert [x["id"] for x in first] == [b["id"] for b in batch]
    assert all(x["receipt"] and x["state"] == "submitted" for x in first)

    again = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [x["outcome"] for x in again] == ["unchanged", "unchanged"]
    assert [x["receipt"] for x in again] == [x["receipt"] for x in first]
    assert all(_count(b["id"]) == 1 for b in batch)


def test_same_id_different_content_is_a_conflict(world, as_user):
    pid = _setup(world)
    bob = as_user(world["bob"])
    rec = _rec(_visit(pid))
    bob.post("/api/v1/sync", json={"records": [rec]})
    changed = dict(rec, data=_visit(pid, notes="khác"))
    res = bob.post("/api/v1/sync", json={"records": [changed]}).json()["results"][0]
    assert res["outcome"] == "conflict" and res["version"] == 1


def test_one_bad_record_does_not_fail_its_batch(world, as_user):
    pid = _setup(world)
    other = run(make_person(world["A"], team=[world["carol"]]))
    bob = as_user(world["bob"])
    batch = [
        _rec(_visit(pid)),
        _rec(_visit(pid, date="2099-01-01", risk="extreme")),
        {"id": "not-a-uuid", "kind": "visit", "data": {}},
        _rec(_visit(other)),  # carol's person: not bob's to touch
        "garbage",
    ]
    results = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [r["outcome"] for r in results] == ["stored", "invalid", "invalid", "forbidden",
                                               "invalid"]
    assert {"date", "risk"} <= set(results[1]["errors"])
    assert "id" in results[2]["errors"]


def test_batch_limit_and_malformed_bodies(world, as_user, client):
    pid = _setup(world)
    bob = as_user(world["bob"])
    too_many = [_rec(_visit(pid)) for _ in range(201)]
    assert bob.post("/api/v1/sync", json={"records": too_many}).status_code == 413
    assert bob.post("/api/v1/sync", content=b"{nope", headers={
        "content-type": "application/json"}).status_code == 400
    assert bob.post("/api/v1/sync", json={"records": "x"}).status_code == 400
    assert client.post("/api/v1/sync", json={"records": []}).status_code == 401


def test_sign_out_clears_site_data_only_when_the_page_checked_the_outbox(world, as_user):
    # Without `wipe=1` (no JavaScript, or a page that could not read the outbox) the phone may
    # hold records nobody chose to lose: the session ends, the phone's data stays.
    bob = as_user(world["bob"])
    r = bob.post("/auth/sign-out", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"
    assert "clear-site-data" not in r.headers
    assert bob.get("/app", follow_redirects=False).status_code == 302  # to sign in

    bob = as_user(world["bob"])
    r = bob.post("/auth/sign-out", data={"wipe": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?signed_out=1"
    assert r.headers["clear-site-data"] == '"cache", "storage"'


def test_sync_without_csrf_is_refused(world, as_user):
    pid = _setup(world)
    bob = as_user(world["bob"])
    del bob.headers["x-csrftoken"]
    assert bob.post("/api/v1/sync", json={"records": [_rec(_visit(pid))]}).status_code == 403


def test_other_commune_official_cannot_record_for_commune_a(world, as_user):
    pid = _setup(world)
    res = as_user(world["dave"]).post("/api/v1/sync", json={"records": [_rec(_visit(pid))]})
    assert res.json()["results"][0]["outcome"] == "forbidden"


def test_concurrent_identical_submissions_store_once(world):
    """Eight requests racing with the same record: one `stored`, seven `unchanged`."""
    from server.records.queries import submit_record
    from server.web import CurrentUser

    pid = _setup(world)
    bob = CurrentUser(id=world["bob"], role="volunteer", name="Bob", area_id=world["A"],
                      area_name="A", area_level="commune")
    rid = uuid.uuid4()
    at = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)

    async def race():
        return await asyncio.gather(*[
            submit_record(bob, "visit", rid, 1, at, _visit(pid)) for _ in range(8)])

    results = run(race())
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["stored"] + ["unchanged"] * 7
    assert len({r.receipt for r in results}) == 1
    assert _count(str(rid)) == 1


def test_updates_feed_reports_review_decisions(world, as_user):
    pid = _setup(world)
    bob = as_user(world["bob"])
    first = bob.get("/api/v1/me/updates").json()  # a phone's first call: only a cursor
    assert first["updates"] == [] and first["cursor"]
    rec = _rec(_visit(pid))
    bob.post("/api/v1/sync", json={"records": [rec]})
    feed = bob.get("/api/v1/me/updates", params={"since": first["cursor"]}).json()
    assert [u["id"] for u in feed["updates"]] == [rec["id"]]
    cursor = feed["cursor"]
    assert bob.get("/api/v1/me/updates", params={"since": cursor}).json()["updates"] == []

    from server.review.queries import return_entry
    from server.web import CurrentUser

    alice = CurrentUser(id=world["alice"], role="official", name="alice", area_id=world["A"],
                        area_name="", area_level="commune")
    run(return_entry(alice, uuid.UUID(rec["id"]), 1, "Thiếu ngày hẹn"))
    update = bob.get("/api/v1/me/updates", params={"since": cursor}).json()["updates"]
    assert update[0]["state"] == "returned" and update[0]["comment"] == "Thiếu ngày hẹn"
    # Nobody else's entries appear in the feed.
    carol = as_user(world["carol"])
    assert carol.get("/api/v1/me/updates", params={"since": first["cursor"]}).json()[
        "updates"] == []
    assert bob.get("/api/v1/me/updates", params={"since": "yesterday"}).status_code == 400


def test_concurrent_batches_with_the_same_records_store_each_once(world, as_user):
    """Two phones' worth of requests racing (a retry while the first is still in flight)."""
    from concurrent.futures import ThreadPoolExecutor

    pid = _setup(world)
    batch = [_rec(_visit(pid, notes=f"#{i}")) for i in range(30)]
    clients = [as_user(world["bob"]) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda c: c.post("/api/v1/sync", json={"records": batch}),
                                clients))
    assert [a.status_code for a in answers] == [200] * 4
    outcomes = [r["outcome"] for a in answers for r in a.json()["results"]]
    assert outcomes.count("stored") == 30 and outcomes.count("unchanged") == 90
    assert all(_count(b["id"]) == 1 for b in batch)
    receipts = {tuple(r["receipt"] for r in a.json()["results"]) for a in answers}
    assert len(receipts) == 1


# ---------------------------------------------------------------- failures not the record's
# Real faults, not mocks: a second connection holds SQLite's write lock past the app's busy
# timeout; on PostgreSQL the app's connection is terminated while its batch waits on a lock.

RETRY_REASON = "The server could not store this record just now."


@pytest.fixture
def short_busy_timeout():
    """The app's SQLite connections give up after 300 ms instead of 10 s (the setting
    SQLITE_BUSY_TIMEOUT_MS; new connections read it from the engine)."""
    from server.piccolo_conf import DB

    before = DB.busy_timeout_ms
    DB.busy_timeout_ms = 300
    yield DB
    DB.busy_timeout_ms = before


@pytest.mark.skipif(IS_PG, reason="SQLite's write lock")
def test_sqlite_locked_past_busy_timeout_answers_retry_then_stores_once(
        world, as_user, short_busy_timeout):
    import sqlite3

    pid = _setup(world)
    bob = as_user(world["bob"])
    bob.cookies.set("lang", "en")
    batch = [_rec(_visit(pid)), _rec(_visit(pid, date="2026-11-21")),
             _rec(_visit(pid, date="2099-01-01"))]
    holder = sqlite3.connect(short_busy_timeout.connection_kwargs["database"], timeout=0,
                             isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock, and keeps it
    try:
        r = bob.post("/api/v1/sync", json={"records": batch})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    # Not the records' fault, the invalid one included: nothing asks a person to fix it.
    assert [x["outcome"] for x in results] == ["retry"] * 3
    assert [x["id"] for x in results] == [b["id"] for b in batch]
    assert all(x["reason"].startswith(RETRY_REASON) and x["errors"] == {} for x in results)
    assert [_count(b["id"]) for b in batch] == [0, 0, 0]

    again = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [x["outcome"] for x in again] == ["stored", "stored", "invalid"]
    assert [_count(b["id"]) for b in batch] == [1, 1, 0]


@pytest.mark.skipif(IS_PG, reason="SQLite's write lock")
def test_retry_reason_is_translated(world, as_user, short_busy_timeout):
    import sqlite3

    pid = _setup(world)
    bob = as_user(world["bob"])
    bob.cookies.set("lang", "vi")
    holder = sqlite3.connect(short_busy_timeout.connection_kwargs["database"], timeout=0,
                             isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        res = bob.post("/api/v1/sync", json={"records": [_rec(_visit(pid))]}).json()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert res["results"][0]["outcome"] == "retry"
    assert res["results"][0]["reason"].startswith("Máy chủ chưa lưu được bản ghi này")


@pytest.mark.skipif(not IS_PG, reason="PostgreSQL connections")
def test_postgres_connection_terminated_mid_batch_answers_retry_then_stores_once(
        world, as_user):
    import threading

    import asyncpg

    from server.settings import settings

    pid = _setup(world)
    bob = as_user(world["bob"])
    bob.cookies.set("lang", "en")
    batch = [_rec(_visit(pid, notes=f"#{i}")) for i in range(5)]
    locked = threading.Event()
    killed: list[bool] = []

    async def hold_and_kill() -> None:
        holder = await asyncpg.connect(settings.database_url)
        killer = await asyncpg.connect(settings.database_url)
        try:
            async with holder.transaction():
                # The batch reaches `entry` and waits on this lock ...
                await holder.execute("LOCK TABLE entry IN ACCESS EXCLUSIVE MODE")
                locked.set()
                for _ in range(600):
                    # ... and the app's connection is terminated while it waits (from a
                    # connection outside any transaction: pg_stat_activity is a snapshot
                    # per transaction).
                    killed.extend(row[0] for row in await killer.fetch(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = current_database() AND pid <> pg_backend_pid() AND "
                                "wait_event_type = 'Lock' AND pid <> $1", holder.get_server_pid()))
                    if killed:
                        break
                    await asyncio.sleep(0.05)
        finally:
            await holder.close()
            await killer.close()

    killer = threading.Thread(target=lambda: run(hold_and_kill()))
    killer.start()
    assert locked.wait(30)
    r = bob.post("/api/v1/sync", json={"records": batch})
    killer.join(60)
    assert killed == [True]
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["retry"] * 5
    assert all(x["reason"].startswith(RETRY_REASON) for x in results)
    assert all(_count(b["id"]) == 0 for b in batch)

    again = bob.post("/api/v1/sync", json={"records": batch}).json()["results"]
    assert [x["outcome"] for x in again] == ["stored"] * 5
    assert all(_count(b["id"]) == 1 for b in batch)
