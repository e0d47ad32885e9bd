"""How many SQL statements each main page runs: a fixed number, whatever the rows.

Each page is asked for once to warm what a process keeps (nothing should be kept, but a first
request may differ), then counted on the second request (tests/sqlcount.py counts at the
drivers, so the session lookup, the audit row of a read and every transaction's BEGIN/COMMIT
are in the figure). The world has several people, entries in every state and a referral, so a
query per row (an N+1) would change the figure. A page that runs one more statement fails
here: write the new figure only after checking that the statement is needed.

Counts, never times: times are `scripts/bench`'s business.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from server.records.validation import vn_today
from tests.conftest import IS_PG, run
from tests.factories import make_entry, make_person
from tests.sqlcount import count_sql


@pytest.fixture
def rich(world: dict[str, Any]) -> dict[str, Any]:
    """Bob's caseload of four people with visits, talks and a referral in every state."""
    a, bob, carol = world["A"], world["bob"], world["carol"]
    village = world["villages"]["HK"][0]
    people = [run(make_person(a, village=village, team=[bob, carol] if i % 2 else [bob],
                              start=dt.date(2025, 1, 1), name=f"Nguyễn Văn Thử {i}"))
              for i in range(4)]
    day = vn_today() - dt.timedelta(days=3)
    for i, state in enumerate(("submitted", "approved", "returned", "rejected") * 2):
        run(make_entry("visit", commune=a, author=bob, person=people[i % 4], state=state,
                       entry_date=day - dt.timedelta(days=i)))
    run(make_entry("talk", commune=a, author=bob, village=village, state="submitted",
                   entry_date=day))
    run(make_entry("referral", commune=a, author=carol, person=people[1], state="submitted",
                   entry_date=day))
    return {**world, "people": people}


def _count(client: Any, method: str, url: str, expect: int = 200,
           **kwargs: Any) -> tuple[int, str]:
    first = client.request(method, url, **kwargs)
    assert first.status_code == expect, first.text[:500]
    with count_sql() as sql:
        r = client.request(method, url, **kwargs)
    assert r.status_code == expect, r.text[:500]
    return sql.count, sql.report()


# Each audit row costs PostgreSQL one statement more: the advisory lock that keeps the hash
# chain in order (SQLite's write lock already does).
AUDIT_LOCK = 1 if IS_PG else 0

# name → (who, url, statements). Every signed-in request starts with the session's row.
PAGES = {
    # session, caseload (with the visit frequency), the records card (its two counts and the
    # returned entries in one), rejected, the two optional cards' "may this user record
    # trainings / counselling?"
    "volunteer home": ("bob", "/", 6),
    # session, caseload (with the visit frequency)
    "caseload API": ("bob", "/api/v1/me/caseload", 2),
    # session, person (is the user on their team? their due row with the visit frequency),
    # audit of the read (BEGIN, last hash, INSERT, COMMIT), periods, team
    "person page": ("bob", "/people/{person}", 8 + AUDIT_LOCK),
    # session, villages + supporters + visit frequency (one UNION ALL), the page with its
    # total (a window count)
    "people register with a search": ("alice", "/people?q=thu&sort=name", 3),
    # session, visit frequency (records), caseload (with the visit frequency)
    "visit form": ("bob", "/visits/new", 3),
    # session, queue, villages + authors + overdue setting (one UNION ALL)
    "review queue": ("alice", "/review", 3),
    "entries list": ("bob", "/entries", 2),
    "notifications": ("bob", "/notifications", 2),
    "update feed": ("bob", "/api/v1/me/updates?since=0", 2),
    # session, visit frequency, the register's three counts in one, entries this month,
    # waiting, overdue setting, overdue, final reports, areas, public page (2), trainings,
    # counselling follow-ups
    "official home": ("alice", "/", 13),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_runs_a_fixed_number_of_statements(name: str, rich: dict[str, Any],
                                                as_user: Any) -> None:
    who, url, expected = PAGES[name]
    client = as_user(rich[who])
    n, report = _count(client, "GET", url.format(person=rich["people"][0]))
    assert n == expected, f"{name}: {n} statements\n{report}"


def test_a_page_with_more_rows_runs_no_more_statements(rich: dict[str, Any],
                                                       as_user: Any) -> None:
    """The figures above do not grow with the data: twice the caseload, same count."""
    bob = as_user(rich["bob"])
    before = {url: _count(bob, "GET", url)[0] for url in ("/", "/api/v1/me/caseload",
                                                           "/entries")}
    for i in range(4):
        pid = run(make_person(rich["A"], village=rich["villages"]["HK"][0], team=[rich["bob"]],
                              start=dt.date(2025, 1, 1)))
        run(make_entry("visit", commune=rich["A"], author=rich["bob"], person=pid,
                       state=("returned", "approved")[i % 2]))
    after = {url: _count(bob, "GET", url)[0] for url in before}
    assert after == before


SYNC_BATCH = 100
# One batch of 100 new visits, whatever its size (server/records/batch.py): the session, BEGIN,
# the batch's stored ids, its people (with the commune's code), the feed counter, one INSERT
# each for entries, versions and audit rows, the last audit hash, COMMIT — and on PostgreSQL
# the audit chain's lock, once. It was 1,103 (11 a record) before the batch path, 11 before
# the commune's code came with the people.
SYNC_EXPECTED = 10 + AUDIT_LOCK


def test_sync_of_a_100_record_visit_batch(rich: dict[str, Any], as_user: Any) -> None:
    bob = as_user(rich["bob"])
    people = rich["people"]

    def batch() -> list[dict[str, Any]]:
        return [{"id": str(uuid.uuid4()), "kind": "visit", "version": 1,
                 "recorded_at": "2026-11-20T02:30:00Z",
                 "data": {"person": people[i % len(people)],
                          "date": (vn_today() - dt.timedelta(days=i % 20)).isoformat(),
                          "visit_kind": "home", "met": True, "drug_signs": "none",
                          "risk": "low", "support": ["counselling"], "notes": f"Lần {i}"}}
                for i in range(SYNC_BATCH)]

    warm = bob.post("/api/v1/sync", json={"records": batch()})
    assert warm.status_code == 200, warm.text[:500]
    records = batch()
    with count_sql() as sql:
        r = bob.post("/api/v1/sync", json={"records": records})
    assert r.status_code == 200, r.text[:500]
    assert [x["outcome"] for x in r.json()["results"]] == ["stored"] * SYNC_BATCH
    assert sql.count == SYNC_EXPECTED, f"sync: {sql.count} statements\n{sql.report()}"
