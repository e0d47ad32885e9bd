"""Each field form filled and submitted in Chromium on a 360×740 phone screen, through the
outbox (the one write path), and the cached blank form used with the network cut."""

from __future__ import annotations

import pytest

from tests.browser import enrol, until
from tests.test_offline_browser import flush_until_empty, live_person, wait_outbox

pytestmark = pytest.mark.browser


def _states(page) -> list[str]:
    return page.evaluate("async () => (await window.outbox.list()).map(r => r.status)")


def test_fill_and_submit_each_form_on_a_phone(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    assert page.viewport_size == {"width": 360, "height": 740}

    page.goto(f"{live_server.url}/visits/new?person={pid}")
    wait_outbox(page)
    form = page.locator("#visit-form")
    assert form.evaluate("f => f.scrollWidth <= 360")  # nothing wider than the phone
    page.locator("#visit-form input[name=support]").first.check()
    page.fill("#visit-form textarea[name=health]", "Sức khỏe ổn, đi làm đều")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/outbox")

    page.goto(f"{live_server.url}/talks/new")
    wait_outbox(page)
    page.locator("#talk-form select[name=village]").select_option(index=1)
    page.locator("#talk-form input[name=topics]").first.check()
    page.fill("#talk-form input[name=attendees_total]", "40")
    page.fill("#talk-form input[name=attendees_women]", "18")
    page.locator("#talk-form button[type=submit]").click()
    page.wait_for_url("**/outbox")

    page.goto(f"{live_server.url}/referrals/new?person={pid}")
    wait_outbox(page)
    page.locator("#referral-form select[name=service]").select_option(index=1)
    page.fill("#referral-form textarea[name=reason]", "Cần tư vấn tâm lý")
    page.locator("#referral-form button[type=submit]").click()
    page.wait_for_url("**/outbox")

    flush_until_empty(page, tries=30)
    assert sorted(_states(page)) == ["received"] * 3
    kinds = live_server.sql("SELECT kind FROM entry WHERE person = ? OR kind = 'talk' AND "
                            "notes = ''", pid)
    assert {"visit", "referral"} <= {k for (k,) in kinds}
    page.goto(f"{live_server.url}/outbox")
    page.locator("#outbox-list li").nth(2).wait_for()
    assert page.locator("#outbox-list li").count() == 3
    assert page.locator("#outbox-list .badge.received").count() == 3


def test_blank_form_offline_uses_the_phones_caseload(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    until(page, "async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()
    wait_outbox(page)
    page.evaluate("window.outbox.flush()")  # refreshes the caseload on the phone
    # The shell is cached per user ("donghanh-shell-<version>-<user>"), apart from the assets.
    until(page,
        "async () => !!(await caches.match('/visits/new?shell=1'))", timeout=15000)
    shell = page.evaluate("async () => (await caches.match('/visits/new?shell=1')).text()")
    assert "Người Thử Trực Tuyến" not in shell  # no names in the cached page

    page.context.set_offline(True)
    page.goto(f"{live_server.url}/visits/new?person={pid}")
    wait_outbox(page)
    until(page, f"!!document.querySelector('select[name=person] option[value=\"{pid}\"]')")
    assert page.locator("select[name=person]").input_value() == str(pid)
    page.locator("#visit-form button[type=submit]").click()
    page.wait_for_url("**/outbox")
    wait_outbox(page)
    # One record, kept on the phone (a flush that tries meanwhile marks it "sending" for a
    # moment and puts it back: polled, not read once).
    until(page, "async () => (await window.outbox.list()).map(r => r.status).join() === 'saved'")
    page.context.set_offline(False)
    flush_until_empty(page, tries=30)
    assert _states(page) == ["received"]
