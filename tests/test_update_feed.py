"""GET /api/v1/me/updates: every change a phone must learn of reaches it, in the order the
changes were committed — decisions committed late, bulk approvals past one page, concurrent
writers — and a cursor that is not one of ours is refused.

The contract: `?since=<integer>` answers {"updates": [{id, kind, state, version, receipt,
comment, updated_at, seq}], "cursor": "<integer>", "more": bool}; without `since`, no updates
and the current cursor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from server.records.queries import submit_record
from server.review import queries as review
from server.sync.queries import FEED_PAGE, list_updates_for
from server.vntime import today as vn_today
from tests.conftest import IS_PG, run
from tests.factories import make_entry, make_person
from tests.test_records import cu

NOW = dt.datetime.now(dt.UTC)
FEED = "/api/v1/me/updates"


def _visit(person: int, note: str = "") -> dict[str, Any]:
    return {"person": person, "date": vn_today().isoformat(), "visit_kind": "home",
            "met": True, "health": "Khỏe", "drug_signs": "none", "support": ["counselling"],
            "risk": "low", "notes": note}


@pytest.fixture
def pid(world):
    return run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                           start=dt.date(2025, 1, 1)))


def follow(client, cursor: str) -> tuple[list[dict], str, list[bool]]:
    """What a phone does: ask from its cursor until `more` is false."""
    seen: list[dict] = []
    mores: list[bool] = []
    while True:
        r = client.get(FEED, params={"since": cursor})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"updates", "cursor", "more"}
        seen += body["updates"]
        mores.append(body["more"])
        cursor = body["cursor"]
        if not body["more"]:
            return seen, cursor, mores


def test_first_call_gives_only_a_cursor_and_bad_cursors_are_refused(world, as_user, pid):
    bob = as_user(world["bob"])
    first = bob.get(FEED)
    assert first.status_code == 200
    assert first.json() == {"updates": [], "cursor": "0", "more": False}
    run(submit_record(cu(world, "bob"), "visit", uuid.uuid4(), 1, NOW, _visit(pid)))
    # a first visit after some history still downloads none of it
    assert bob.get(FEED).json() == {"updates": [], "cursor": "1", "more": False}
    for bad in ("2026-11-27T10:00:00Z", "2100-01-01T00:00:00Z", "-1", "1.5", "abc", "",
                " 1", "+1", "１", str(2**63)):
        r = bob.get(FEED, params={"since": bad})
        assert r.status_code == 400, bad
        assert "con trỏ" in r.json()["detail"]
    body = bob.get(FEED, params={"since": "0"}).json()
    assert [u["seq"] for u in body["updates"]] == [1] and body["cursor"] == "1"
    assert set(body["updates"][0]) == {"id", "kind", "state", "version", "receipt", "comment",
                                       "updated_at", "seq"}
    assert bob.get(FEED, params={"since": str(2**63 - 1)}).json() == {
        "updates": [], "cursor": str(2**63 - 1), "more": False}


def test_every_write_that_the_phone_shows_moves_the_feed(world, as_user, pid):
    """Submit, correction, approve, reopen, return, reject and referral steps, each once."""
    bob_u, alice = cu(world, "bob"), cu(world, "alice")
    bob = as_user(world["bob"])
    cursor = bob.get(FEED).json()["cursor"]
    vid = uuid.uuid4()
    run(submit_record(bob_u, "visit", vid, 1, NOW, _visit(pid)))
    run(submit_record(bob_u, "visit", vid, 2, NOW, _visit(pid, "sửa")))
    run(review.approve_entry(alice, vid, 2))
    run(review.reopen_entry(alice, vid, 2, "Sai ngày."))
    other = uuid.uuid4()
    run(submit_record(bob_u, "visit", other, 1, NOW, _visit(pid)))
    run(review.reject_entry(alice, other, 1, "Trùng."))
    ref = uuid.uuid4()
    run(submit_record(bob_u, "referral", ref, 1, NOW, {
        "person": pid, "date": vn_today().isoformat(), "service": "health_station",
        "reason": "Khám", "urgency": "normal"}))
    step = uuid.uuid4()
    run(submit_record(bob_u, "referral_status", step, 1, NOW, {
        "referral": str(ref), "status": "received", "date": vn_today().isoformat()}))
    run(review.return_entry(alice, step, 1, "Ghi rõ nơi nhận."))
    seen, _cursor, _mores = follow(bob, cursor)
    assert [(u["id"], u["state"], u["version"]) for u in seen] == [
        (str(vid), "returned", 2), (str(other), "rejected", 1), (str(ref), "submitted", 1),
        (str(step), "returned", 1)]
    assert seen[-1]["kind"] == "referral_status" and seen[-1]["comment"] == "Ghi rõ nơi nhận."
    assert [u["seq"] for u in seen] == sorted(u["seq"] for u in seen)
    assert len({u["seq"] for u in seen}) == 4
    # nobody else's entries appear in bob's feed, and carol's feed is her own
    carol = as_user(world["carol"])
    assert carol.get(FEED, params={"since": "0"}).json()["updates"] == []


def test_bulk_approval_of_1200_entries_all_reach_the_phone(world, as_user):
    async def make() -> list[uuid.UUID]:
        from server.db import write_transaction
        from server.records.tables import Entry

        async with write_transaction(Entry._meta.db):  # one commit for the 1,200 rows
            return [await make_entry("visit", commune=world["A"], author=world["bob"])
                    for _ in range(1200)]

    ids = run(make())
    bob = as_user(world["bob"])
    cursor = bob.get(FEED).json()["cursor"]
    alice = as_user(world["alice"])
    r = alice.post("/review/approve", data={"ids": [f"{i}:1" for i in ids]},
                   headers={"accept": "application/json"})
    assert r.status_code == 200 and len(r.json()["approved"]) == 1200
    seen, cursor, mores = follow(bob, cursor)
    pages = -(-1200 // FEED_PAGE)  # every page full but the last, which says no more
    assert mores == [True] * (pages - 1) + [False]
    assert len(seen) == 1200 and {u["id"] for u in seen} == {str(i) for i in ids}
    assert {u["state"] for u in seen} == {"approved"}
    assert follow(bob, cursor)[0] == []


@pytest.mark.skipif(not IS_PG, reason="needs row locks: SQLite serialises whole write "
                    "transactions, so there a decision cannot commit past another one")
def test_a_decision_committed_after_a_later_one_still_reaches_the_phone(world, as_user):
    """Decision A takes its time (updated_at) first, then waits on a row lock held by another
    connection; decision B is taken and committed meanwhile, and the phone reads it. When the
    lock goes, A commits with the earlier time: the phone must still get it."""
    import os

    import asyncpg

    a = run(make_entry("visit", commune=world["A"], author=world["bob"]))
    b = run(make_entry("visit", commune=world["A"], author=world["bob"]))
    bob = as_user(world["bob"])
    cursor = bob.get(FEED).json()["cursor"]
    alice = cu(world, "alice")
    dsn = os.environ["DATABASE_URL"]  # this worker's test database (tests/conftest.py)

    async def scenario() -> tuple[list[dict], str]:
        holder = await asyncpg.connect(dsn)
        watcher = await asyncpg.connect(dsn)
        try:
            tx = holder.transaction()
            await tx.start()
            await holder.execute("SELECT 1 FROM entry WHERE id = $1 FOR UPDATE", a)
            late = asyncio.create_task(review.approve_entry(alice, a, 1))
            for _ in range(500):  # until A's UPDATE is waiting on the held row lock
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE%'")
                if waiting:
                    break
                await asyncio.sleep(0.02)
            assert waiting == 1
            await review.return_entry(alice, b, 1, "Thiếu ngày hẹn.")
            first, mid, _more = await list_updates_for(cu_bob, int(cursor))
            await tx.rollback()
            await late
            return first, mid
        finally:
            await holder.close()
            await watcher.close()

    cu_bob = cu(world, "bob")
    first, mid = run(scenario())
    assert [u["id"] for u in first] == [str(b)]  # the phone has read B already
    rest, _cursor, _mores = follow(bob, mid)
    assert [(u["id"], u["state"]) for u in rest] == [(str(a), "approved")]
    assert rest[0]["updated_at"] < first[0]["updated_at"]  # committed later, stamped earlier


def test_concurrent_decisions_and_submissions_lose_nothing(world, pid):
    """Submissions, corrections, single and bulk decisions by several writers at once, while
    a phone polls; at the end the phone's picture equals the database's."""
    bob, alice = cu(world, "bob"), cu(world, "alice")
    waiting = [uuid.uuid4() for _ in range(12)]
    for eid in waiting:
        run(submit_record(bob, "visit", eid, 1, NOW, _visit(pid)))
    start = run(list_updates_for(bob, None))[1]

    async def scenario() -> dict[str, tuple[str, int]]:
        phone: dict[str, tuple[str, int]] = {}
        done = asyncio.Event()
        cursor = int(start)

        async def poll() -> None:
            nonlocal cursor
            while True:
                finished = done.is_set()
                more = True
                while more:
                    items, new, more = await list_updates_for(bob, cursor, limit=5)
                    for u in items:
                        phone[u["id"]] = (u["state"], u["version"])
                    cursor = int(new)
                if finished:
                    return
                await asyncio.sleep(0)

        async def writers() -> None:
            new_ids = [uuid.uuid4() for _ in range(10)]
            await asyncio.gather(
                *(submit_record(bob, "visit", i, 1, NOW, _visit(pid)) for i in new_ids),
                *(submit_record(bob, "visit", waiting[k], 2, NOW, _visit(pid, "sửa"))
                  for k in (0, 1)),
                *(review.approve_entry(alice, waiting[k], 1) for k in (2, 3, 4)),
                *(review.return_entry(alice, waiting[k], 1, "Bổ sung.") for k in (5, 6)),
                review.reject_entry(alice, waiting[7], 1, "Trùng."),
                review.approve_entries(alice, [f"{waiting[k]}:1" for k in (8, 9, 10, 11)]),
                return_exceptions=True)
            done.set()

        await asyncio.gather(poll(), writers())
        return phone

    phone = run(scenario())
    from server.records.tables import Entry

    rows = run(Entry.select(Entry.id, Entry.state, Entry.version, Entry.change_seq).where(
        Entry.author == world["bob"]))
    changed = {str(r["id"]): (r["state"], r["version"]) for r in rows
               if r["change_seq"] > int(start)}
    assert len(changed) == 22  # 10 new, and all 12 waiting ones were changed by someone
    assert phone == changed
    seqs = [r["change_seq"] for r in rows]
    assert len(set(seqs)) == len(seqs)  # one number per change
