"""The benchmark's data generator: a tiny scale written into the test database has the rows it
promises, in every review state, and the same seed makes the same rows."""

from __future__ import annotations

from typing import Any

from tests.bench.generate import Scale, build, generate
from tests.conftest import run

TINY = Scale(communes=2, people=30, visits=300, talks=30, referrals=30)


async def _count(sql: str) -> list[dict[str, Any]]:
    from server.records.tables import Entry

    return await Entry.raw(sql)


def test_tiny_scale_has_every_table_and_review_state(fresh_db: Any) -> None:
    counts = run(generate(TINY, seed=7))
    # every follow-up step after "referred" is an entry of its own (reviewed like the rest)
    steps = run(_count("SELECT count(*) AS n FROM referral_event r JOIN entry s ON s.id = r.id "
                       "AND s.kind = 'referral_status' AND s.ref_status = r.status"))[0]["n"]
    later = run(_count("SELECT count(*) AS n FROM referral_event "
                       "WHERE status <> 'referred'"))[0]["n"]
    assert steps == later > 0
    assert counts["entry"] == 360 + steps
    rows = run(_count("SELECT kind, count(*) AS n FROM entry GROUP BY kind ORDER BY kind"))
    assert {r["kind"]: r["n"] for r in rows} == {"referral": 30, "talk": 30, "visit": 300,
                                                 "referral_status": steps}
    states = {r["state"] for r in run(_count("SELECT DISTINCT state FROM entry"))}
    assert states == {"submitted", "approved", "returned", "rejected"}
    areas = run(_count("SELECT level, count(*) AS n FROM area GROUP BY level"))
    by_level = {r["level"]: r["n"] for r in areas}
    assert by_level["province"] == 1 and by_level["commune"] == 2
    assert 10 <= by_level["village"] <= 20
    people = run(_count("SELECT count(*) AS n FROM person"))[0]["n"]
    assert people == 30
    roles = {r["role"]: r["n"] for r in run(_count(
        "SELECT role, count(*) AS n FROM app_user GROUP BY role"))}
    assert roles["official"] == 2 and roles["supervisor"] == 1
    assert 10 <= roles["volunteer"] <= 20
    # every person has a category history and a primary supporter
    orphans = run(_count(
        "SELECT count(*) AS n FROM person p WHERE NOT EXISTS (SELECT 1 FROM category_period c "
        "WHERE c.person = p.id) OR NOT EXISTS (SELECT 1 FROM team_member t "
        "WHERE t.person = p.id AND t.role = 'primary')"))[0]["n"]
    assert orphans == 0
    # referrals carry their follow-up steps, the last one matching the entry's status
    events = run(_count("SELECT count(DISTINCT referral) AS n FROM referral_event"))[0]["n"]
    assert events == 30
    mismatched = run(_count(
        "SELECT count(*) AS n FROM entry e WHERE e.kind = 'referral' AND e.ref_status <> "
        "(SELECT r.status FROM referral_event r WHERE r.referral = e.id "
        "ORDER BY CASE r.status WHEN 'referred' THEN 1 WHEN 'received' THEN 2 "
        "WHEN 'attended' THEN 3 ELSE 4 END DESC LIMIT 1)"))[0]["n"]
    assert mismatched == 0
    # entries that are waiting or were sent back keep their submitted version for the diff
    missing = run(_count(
        "SELECT count(*) AS n FROM entry e WHERE e.state <> 'approved' AND NOT EXISTS "
        "(SELECT 1 FROM entry_version v WHERE v.entry = e.id)"))[0]["n"]
    assert missing == 0


def test_the_app_reads_the_generated_rows(fresh_db: Any) -> None:
    """Generated rows come back through Piccolo with their proper types."""
    import datetime as dt

    from server.records.tables import Entry

    run(generate(TINY, seed=3))
    row = run(Entry.select(Entry.entry_date, Entry.recorded_at, Entry.met).where(
        Entry.kind == "visit").first())
    assert isinstance(row["entry_date"], dt.date)
    assert row["recorded_at"].tzinfo is not None
    assert row["met"] in (True, False)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    def entries(seed: int) -> list[tuple[Any, ...]]:
        return [r for table, _cols, rows in build(TINY, seed) if table == "entry" for r in rows]

    first = entries(5)
    assert first == entries(5)
    assert first != entries(6)


def test_generating_into_a_database_with_areas_refuses(world: Any) -> None:
    import pytest

    with pytest.raises(SystemExit):
        run(generate(TINY, seed=1))
