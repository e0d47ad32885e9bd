"""A page's work is bounded whatever waits behind it: the review queue shows the oldest
QUEUE_LIMIT entries and says there are more."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.review.queries import QUEUE_LIMIT
from tests.conftest import run
from tests.factories import make_entry, make_person


def test_review_queue_shows_the_oldest_entries_up_to_its_limit(world: dict[str, Any],
                                                                as_user: Any) -> None:
    a, bob = world["A"], world["bob"]
    pid = run(make_person(a, village=world["villages"]["HK"][0], team=[bob]))
    ids = [run(make_entry("visit", commune=a, author=bob, person=pid,
                          entry_date=dt.date(2026, 3, 1)))
           for _ in range(QUEUE_LIMIT + 1)]  # received in this order: the first is the oldest
    alice = as_user(world["alice"])
    alice.cookies.set("lang", "en")
    r = alice.get("/review")
    assert r.status_code == 200
    shown = [i for i in ids if f"/review/{i}" in r.text]
    assert shown == ids[:QUEUE_LIMIT]
    assert f"showing the oldest {QUEUE_LIMIT}; narrow the filter to see the rest" in r.text
