"""A training session and a counselling contact recorded with the network cut, on a 360 px
phone in Chromium: both blank forms come from the service worker's cache, the participant list
from the names the phone kept at sign-in, and each record reaches the server exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser import add_authenticator, enrol, until
from tests.test_offline_browser import flush_until_empty, wait_outbox

pytestmark = pytest.mark.browser

SHELLS = ("/training/new?shell=1", "/counselling/new?shell=1")


def _cached(page, url: str) -> bool:
    return page.evaluate(
        "async (u) => !!(await caches.match(u))", url)  # the user's shell cache, whichever


def _kept_users(page) -> list[dict]:
    """The commune users' list the outbox keeps in the user's IndexedDB."""
    return page.evaluate(
        "async () => { const r = indexedDB.open('donghanh-' + document.body.dataset.user);"
        " const db = await new Promise(ok => { r.onsuccess = () => ok(r.result); });"
        " const v = await new Promise(ok => { const q = db.transaction('meta')"
        ".objectStore('meta').get('communeUsers'); q.onsuccess = () => ok(q.result); });"
        " db.close(); return v || []; }")


@pytest.fixture
def far_phone(browser: Any) -> Iterator[Any]:
    """A 360 px phone whose clock is set to another zone than Vietnam's (as a phone bought or
    set up abroad, or never set up): what it fills in must still be Vietnam's date and time."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                  timezone_id="America/Los_Angeles")
    page = context.new_page()
    add_authenticator(context, page)
    yield page
    context.close()


def _vn_clock() -> str:
    return dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M")


def test_training_and_counselling_recorded_offline_arrive_once(far_phone, live_server):
    page = far_phone
    enrol(page, live_server, "Lê Thị Hoa")  # the official of Xã Hoằng Kim
    wait_outbox(page)
    until(page, "async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()
    wait_outbox(page)
    page.evaluate("window.outbox.flush()")  # keeps the commune users' names on the phone
    for _ in range(75):
        if all(_cached(page, u) for u in SHELLS) and len(_kept_users(page)) >= 3:
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("shell forms or the commune's users were not kept on the phone")
    assert all(set(u) == {"id", "name"} for u in _kept_users(page))  # display names only
    for url in SHELLS:  # the cached pages carry no names
        text = page.evaluate("async (u) => (await caches.match(u)).text()", url)
        assert "Nguyễn Văn Bình" not in text

    page.context.set_offline(True)
    page.goto(f"{live_server.url}/training/new")
    wait_outbox(page)
    box = page.locator("#training-form [data-users-picker] input[type=checkbox]")
    box.nth(2).wait_for()  # filled on the phone: alice, bob, carol
    row = page.locator("#training-form [data-users-picker] label", has_text="Nguyễn Văn Bình")
    assert row.bounding_box()["height"] >= 44  # a finger-sized row
    row.locator("input").check()
    page.locator("#training-form [data-users-picker] label", has_text="Trần Thị Cúc") \
        .locator("input").check()
    page.fill("#training-form input[name=title]", "Tập huấn ngoại tuyến")
    page.locator("#training-form input[name=topics]").first.check()
    page.fill("#training-form input[name=others_count]", "6")
    assert page.locator("#training-form").evaluate("f => f.scrollWidth <= 360")
    page.locator("#training-form button[type=submit]").click()
    page.wait_for_url("**/outbox")

    page.goto(f"{live_server.url}/counselling/new")
    wait_outbox(page)
    # The blank form's time is the phone's clock read in Vietnam time, as its date is: in the
    # phone's own zone it was refused as "in the future" on Vietnam's date (or wrong by hours).
    before = _vn_clock()
    filled = page.locator("#counselling-form input[name=time]").input_value()
    assert filled in (before, _vn_clock()), (filled, before)
    page.locator("#counselling-form input[name=asker][value=anonymous]").check()
    page.locator("#counselling-form input[name=topics][value=methadone]").check()
    page.locator("#counselling-form input[name=actions][value=advice]").check()
    page.fill("#counselling-form textarea[name=notes]", "Hỏi giờ phát thuốc")
    assert page.locator("#counselling-form").evaluate("f => f.scrollWidth <= 360")
    page.locator("#counselling-form button[type=submit]").click()
    page.wait_for_url("**/outbox")
    assert page.evaluate("window.outbox.count()") == 2
    records = page.evaluate("async () => (await window.outbox.list()).map(r => [r.id, r.kind])")
    ids = {kind: rid for rid, kind in records}
    assert set(ids) == {"training", "counselling"}

    page.context.set_offline(False)
    flush_until_empty(page, tries=30)
    page.evaluate("window.outbox.flush()")  # a second pass sends nothing again
    for kind, rid in ids.items():
        assert live_server.sql("SELECT kind, state FROM entry WHERE id = ?", rid) == [
            (kind, "submitted")]
    names = live_server.sql(
        "SELECT u.display_name FROM training_participant p JOIN app_user u ON u.id = p.user "
        "WHERE p.entry = ? ORDER BY u.display_name", ids["training"])
    assert names == [("Nguyễn Văn Bình",), ("Trần Thị Cúc",)]
    assert live_server.sql("SELECT others_count FROM training_session WHERE entry = ?",
                           ids["training"]) == [(6,)]
    assert live_server.sql(
        "SELECT e.person, c.asker, c.channel FROM entry e JOIN counselling_contact c "
        "ON c.entry = e.id WHERE e.id = ?", ids["counselling"]) == [(None, "anonymous",
                                                                     "hotline")]
    statuses = page.evaluate("async () => (await window.outbox.list()).map(r => r.status)")
    assert statuses == ["received", "received"]
