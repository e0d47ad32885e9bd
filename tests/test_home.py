"""The home page: each thing the user must act on appears once."""

from __future__ import annotations

import datetime as dt

from tests.conftest import run
from tests.factories import make_entry


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
