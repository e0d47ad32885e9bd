"""The official's home counts (active, due this week or overdue, overdue) are the register's
own filters, counted in one query: each figure equals the number of people the register
lists behind its button."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.people.queries import PeopleFilter, count_due, get_visit_frequency, list_people
from server.vntime import today
from tests.conftest import run
from tests.factories import make_entry, make_person


def test_home_counts_equal_the_register_behind_each_button(world: dict[str, Any]) -> None:
    a, bob = world["A"], world["bob"]
    village = world["villages"]["HK"][0]
    freq = run(get_visit_frequency(a))
    now = today()

    def person(**kw: Any) -> int:
        return run(make_person(a, village=village, team=[bob], **kw))

    person(start=now - dt.timedelta(days=freq + 40))  # never visited: overdue
    visited = person(start=dt.date(2025, 1, 1))  # visited two days ago: not due
    run(make_entry("visit", commune=a, author=bob, person=visited, state="approved",
                   entry_date=now - dt.timedelta(days=2)))
    soon = person(start=dt.date(2025, 1, 1))  # next visit due in three days
    run(make_entry("visit", commune=a, author=bob, person=soon, state="submitted",
                   entry_date=now - dt.timedelta(days=freq - 3)))
    late = person(start=dt.date(2025, 1, 1))  # a rejected visit does not count: overdue
    run(make_entry("visit", commune=a, author=bob, person=late, state="rejected",
                   entry_date=now - dt.timedelta(days=1)))
    person(start=dt.date(2025, 1, 1), status="ended")  # support ended: in none of them

    counts = run(count_due(a))
    assert counts == {"active": 4, "due": 3, "overdue": 2}
    for key, due in (("active", ""), ("due", "due"), ("overdue", "overdue")):
        _rows, total = run(list_people(a, PeopleFilter(due=due), limit=0))
        assert counts[key] == total, key


def test_home_counts_of_an_empty_commune_are_zero(world: dict[str, Any]) -> None:
    assert run(count_due(world["B"])) == {"active": 0, "due": 0, "overdue": 0}
