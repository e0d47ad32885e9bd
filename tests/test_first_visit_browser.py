"""The first visit's requests in Chromium (DESIGN §10), counted, not timed: the service worker
takes the offline shell in one answer, once, and keeps every page with its own CSP; a page
load right after another does not download the caseload again, while an explicit flush does.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.app import SW_SHELL
from tests.browser import enrol, until
from tests.test_offline_browser import live_person, wait_outbox

pytestmark = pytest.mark.browser


# The phone's outbox database says its last sync ended (the caseload stored before it).
SYNCED = """async () => {
  const name = `donghanh-${document.body.dataset.user}`;
  // Never open (and so create) a database the page has not made yet.
  if (!(await indexedDB.databases()).some((d) => d.name === name)) return false;
  return await new Promise((done) => {
    const r = indexedDB.open(name);
    r.onerror = () => done(false);
    r.onsuccess = () => {
      const db = r.result;
      try {
        const get = db.transaction("meta").objectStore("meta").get("lastSync");
        get.onsuccess = () => { db.close(); done(!!get.result); };
        get.onerror = () => { db.close(); done(false); };
      } catch (e) { db.close(); done(false); }
    };
  });
}"""


def test_the_shell_comes_once_in_one_answer_and_keeps_its_headers(phone, live_server):
    page = phone
    live_person(live_server, "Nguyễn Văn Bình")
    asked: list[str] = []

    def on_request(request: Any) -> None:
        path = request.url[len(live_server.url):]
        if path in SW_SHELL or path == "/app/pages" or path.startswith("/api/v1/me/caseload"):
            asked.append(path)

    page.context.on("request", on_request)  # the service worker's requests too
    enrol(page, live_server, "Nguyễn Văn Bình")  # ends on the home page
    wait_outbox(page)
    # The home page's sync has stored the caseload (under load it may still be on its way
    # when the next page opens, and a download cut short by leaving the page is rightly
    # made again: that is not what this test is about).
    until(page, SYNCED, timeout=15000)
    page.goto(f"{live_server.url}/visits/new")  # the bench's first visit: home, then a form
    wait_outbox(page)
    page.evaluate("window.outbox.ready")
    until(page, "async () => !!(await caches.match('/visits/new?shell=1'))", timeout=15000)
    page.wait_for_timeout(500)  # room for a second fetch of the shell or the caseload, if any

    # One answer for the whole shell, however many pages were loaded; never a page by itself.
    assert asked.count("/app/pages") == 1, asked
    assert not [p for p in asked if p in SW_SHELL], asked
    # Each cached page is this user's, with the CSP it has when fetched by itself.
    for url in ("/app", "/outbox", "/visits/new?shell=1", "/talks/new?shell=1",
                "/referrals/new?shell=1"):
        kept = page.evaluate("async (u) => { const r = await caches.match(u); return r && "
                             "[r.headers.get('content-security-policy'), r.headers.get("
                             "'content-type'), (await r.text()).includes('data-user=')]; }", url)
        assert kept and "script-src 'self'" in kept[0] and kept[1].startswith("text/html") \
            and kept[2], url

    # The second page load did not download the caseload again ...
    loads = asked.count("/api/v1/me/caseload")
    assert loads == 1, asked
    # ... an explicit flush does (tests and "Send now" rely on it).
    page.evaluate("window.outbox.flush()")
    assert asked.count("/api/v1/me/caseload") == loads + 1, asked
