"""The home page: each thing the user must act on appears once."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import enrol
from tests.conftest import run
from tests.factories import make_entry
from tests.test_offline_browser import TODAY, live_person, visit, wait_outbox


def test_a_returned_entry_is_listed_once_and_a_rejected_one_too(world, as_user):
    returned = run(make_entry("visit", commune=world["A"], author=world["bob"],
                              state="returned", review_comment="Ghi rõ ngày gặp."))
    rejected = run(make_entry("visit", commune=world["A"], author=world["bob"],
                              state="rejected", review_comment="Trùng bản ghi.",
                              reviewed_at=dt.datetime.now(dt.UTC)))
    page = as_user(world["bob"]).get("/")
    assert page.status_code == 200
    assert page.text.count(str(returned)) == 1
    assert f'href="/entries/{returned}/edit"' in page.text  # once, where it can be fixed
    assert page.text.count(str(rejected)) == 1
    assert page.text.count("Ghi rõ ngày gặp.") == 1


def test_the_records_card_in_one_statement_equals_its_two_readings(world, as_user):
    """summarise_my_entries (one statement) gives the counts a recount of the author's rows
    gives, and exactly the rows list_my_entries(state="returned", limit=10) gives, in its
    order and types; the counts still arrive when nothing is returned."""
    from collections import Counter

    from server.records import listing_queries
    from server.records.tables import Entry
    from tests.test_records import cu

    bob, carol = cu(world, "bob"), cu(world, "carol")
    for i in range(12):  # more than the card shows, on distinct days, plus a same-day pair
        run(make_entry("visit", commune=world["A"], author=world["bob"], state="returned",
                       entry_date=dt.date(2026, 3, 1) + dt.timedelta(days=i % 11),
                       review_comment=f"sửa {i}"))
    for state in ("submitted", "submitted", "approved", "rejected"):
        run(make_entry("talk", commune=world["A"], author=world["bob"], state=state))
    run(make_entry("visit", commune=world["A"], author=world["carol"], state="approved"))

    for user in (bob, carol):
        counts, returned = run(listing_queries.summarise_my_entries(user, returned=10))
        states = Counter(r["state"] for r in run(
            Entry.select(Entry.state).where(Entry.author == user.id)))
        assert counts == {"submitted": states["submitted"], "approved": states["approved"]}
        expected = run(listing_queries.list_my_entries(user, state="returned", limit=10))
        assert returned == expected  # the ten newest are on distinct days: one order
    assert counts["approved"] >= 1 and returned == []  # carol: counts without a returned row
    counts, returned = run(listing_queries.summarise_my_entries(bob, returned=10))
    assert len(returned) == 10 and counts["submitted"] >= 2

    page = as_user(world["bob"]).get("/")
    assert f"chờ duyệt: {counts['submitted']}" in page.text
    assert f"đã duyệt: {counts['approved']}" in page.text
    assert "sửa 10" in page.text and "sửa 0" not in page.text  # the oldest day is off the card


@pytest.mark.browser
def test_the_outbox_names_each_kind_in_words_never_its_code(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    page.goto(f"{live_server.url}/outbox")
    wait_outbox(page)
    page.context.set_offline(True)  # the records stay on the phone, listed as saved
    for kind, data in (("referral_status", {"referral": "00000000-0000-4000-8000-000000000001",
                                            "status": "received", "date": TODAY}),
                       ("visit", visit(pid)), ("talk", {"date": TODAY}),
                       ("referral", {"person": pid, "date": TODAY}),
                       ("training", {"date": TODAY}), ("counselling", {"date": TODAY})):
        page.evaluate("async ([k, d]) => (await window.outbox.add(k, d)).id", [kind, data])
    page.evaluate("window.outbox.refreshStatus()")
    page.locator("#outbox-list li").nth(5).wait_for()
    titles = page.locator("#outbox-list li b").all_inner_texts()
    page.context.set_offline(False)
    assert sorted(t.split(" · ")[0].strip() for t in titles) == sorted([
        "Bước theo dõi chuyển gửi", "Lần thăm", "Buổi tuyên truyền", "Chuyển gửi",
        "Buổi tập huấn", "Lượt tư vấn"])
