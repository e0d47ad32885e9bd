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
