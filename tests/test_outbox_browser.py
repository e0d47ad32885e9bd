"""The outbox's own promises, in real Chromium: a server that cannot store a record just now is
retried by the phone itself; an edit or a discard made while a batch is on the wire is never
overwritten by the answer; sign-out reads the outbox, not the page; and a phone that changes
hands keeps nothing of the previous user.

Faults are real: a second SQLite connection holds the write lock, requests are held on the
wire with `page.route`, the network is cut with `set_offline`, a session row is deleted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import LiveServer, add_authenticator, enrol, until
from tests.test_offline_browser import (
    add,
    flush_until_empty,
    live_person,
    statuses,
    stored_once,
    visit,
    wait_outbox,
)

pytestmark = pytest.mark.browser

NAME = "Người Thử Trực Tuyến"  # every live_person's name


FIND = "async id => (await window.outbox.list()).find(r => r.id === id)"


def record(page: Any, rid: str) -> dict[str, Any] | None:
    return page.evaluate(FIND, rid)


def until_record(page: Any, rid: str, test: str) -> None:
    """Poll until the stored record `r` passes `test` (a JavaScript expression over r)."""
    until(page, f"async id => {{ const r = await ({FIND})(id); return !!r && ({test}); }}", rid)


class ShortLockServer(LiveServer):
    """A live server whose SQLite writers give up after 300 ms instead of 10 s."""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "SQLITE_BUSY_TIMEOUT_MS": "300"}


@pytest.fixture(scope="module")
def short_lock_server() -> Iterator[LiveServer]:
    server = ShortLockServer()
    server.prepare()
    server.start()
    yield server
    server.stop()


def test_the_phone_retries_on_its_own_while_the_server_cannot_store(browser, short_lock_server):
    server = short_lock_server
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    add_authenticator(context, page)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/sync") else None)
    holder = sqlite3.connect(server.dbdir / "live.sqlite", timeout=10, isolation_level=None)
    try:
        pid = live_person(server, "Nguyễn Văn Bình")
        enrol(page, server, "Nguyễn Văn Bình")
        # The timers run on a clock the test moves: the backoff is seen without waiting it.
        page.clock.install()
        page.goto(f"{server.url}/outbox")
        wait_outbox(page)
        page.evaluate("window.outbox.flush()")
        holder.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's lock

        rid = add(page, "visit", visit(pid))
        until_record(page, rid, "r.retries === 1 || r.status === 'attention'")
        rec = record(page, rid)
        assert rec["status"] == "saved"  # waiting, not "needs attention"
        assert rec["reason"].startswith("Máy chủ chưa lưu được bản ghi này")
        item = page.locator(f"li[data-id='{rid}']")
        item.wait_for()
        assert item.get_attribute("data-status") == "saved"
        assert "Máy chủ chưa lưu được" in item.locator(".outbox-retry-reason").inner_text()
        tries = len(sent)

        # Nobody taps anything: the phone tries again by itself, later each time.
        page.clock.run_for(16_000)
        until_record(page, rid, "r.retries === 2")
        assert len(sent) == tries + 1
        assert record(page, rid)["status"] == "saved"

        holder.execute("ROLLBACK")  # the server can store again
        page.clock.run_for(16_000)  # the next try is 30 s after the last: not yet
        page.wait_for_timeout(300)
        assert len(sent) == tries + 1
        page.clock.run_for(16_000)
        until_record(page, rid, "r.status === 'received'")
        assert stored_once(server, [rid])
        assert len(sent) == tries + 2

        # "Send now" sends at once (and starts the backoff again), no clock needed.
        holder.execute("BEGIN IMMEDIATE")
        other = add(page, "visit", visit(pid, notes="lần hai"))
        until_record(page, other, "r.retries === 1")
        holder.execute("ROLLBACK")
        page.click("#outbox-retry")
        until_record(page, other, "r.status === 'received'")
        assert stored_once(server, [rid, other])
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        context.close()


def test_an_edit_or_discard_while_the_batch_is_on_the_wire_is_kept(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.context.set_offline(True)
    fixed = add(page, "visit", visit(pid, date="2099-01-01", notes="ngày sai"))
    gone = add(page, "visit", visit(pid, date="2099-01-01", notes="bỏ đi"))
    page.evaluate("window.outbox.flush()")
    held: list[Any] = []
    page.route("**/api/v1/sync", lambda route: held.append(route))
    page.context.set_offline(False)
    page.evaluate("window.outbox.flush(); 0")
    until(page, "async () => (await window.outbox.list()).every(r => r.status === 'sending')")
    for _ in range(100):  # the records are claimed before the request reaches the route
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1

    # While the batch is on the wire the user fixes one record and discards the other.
    page.evaluate("([id, d]) => window.outbox.add('visit', d, {id, version: 1})",
                  [fixed, visit(pid, notes="đã sửa ngày")])
    page.evaluate("id => window.outbox.discard(id)", gone)
    held[0].continue_()  # the server answers "invalid" for the copies it was sent

    for _ in range(100):  # the next batch: the fixed copy only, nothing discarded
        if len(held) == 2:
            break
        page.wait_for_timeout(100)
    assert len(held) == 2, "the fixed record was not sent again"
    body = json.loads(held[1].request.post_data)
    assert [(r["id"], r["data"]["notes"]) for r in body["records"]] == [(fixed, "đã sửa ngày")]
    assert record(page, gone) is None  # the answer did not bring it back
    held[1].continue_()
    until_record(page, fixed, "r.status === 'received'")
    assert record(page, gone) is None
    assert stored_once(live_server, [fixed])
    assert live_server.sql("SELECT COUNT(*) FROM entry WHERE id = ?", gone) == [(0,)]
    page.unroute("**/api/v1/sync")


def test_records_left_sending_by_a_closed_page_are_sent_by_the_next(phone, live_server):
    first = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(first, live_server, "Nguyễn Văn Bình")
    wait_outbox(first)
    first.context.set_offline(True)
    ids = [add(first, "visit", visit(pid, notes=f"#{i}")) for i in range(3)]
    first.evaluate("window.outbox.flush()")
    held: list[Any] = []
    first.route("**/api/v1/sync", lambda route: held.append(route))  # the request never gets an answer
    first.context.set_offline(False)
    first.evaluate("window.outbox.flush(); 0")
    until(first, "async () => (await window.outbox.list()).every(r => r.status === 'sending')")
    second = first.context.new_page()
    first.close()  # mid-request: the records stay "sending"

    second.goto(f"{live_server.url}/outbox")
    wait_outbox(second)
    until(second, "async () => (await window.outbox.list()).every(r => r.status === 'received')")
    assert stored_once(live_server, ids)
    assert set(statuses(second).values()) == {"received"}


def test_without_web_locks_a_sending_record_waits_two_minutes_on_its_own_clock(phone,
                                                                               live_server):
    """A browser without Web Locks cannot know whether another page is still sending: a record
    in "sending" is sent again only once it has been so for 2 minutes."""
    first = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(first, live_server, "Nguyễn Văn Bình")
    wait_outbox(first)
    first.context.set_offline(True)
    rid = add(first, "visit", visit(pid))
    first.evaluate("window.outbox.flush()")
    first.route("**/api/v1/sync", lambda route: None)  # on the wire, never answered
    first.context.set_offline(False)
    first.evaluate("window.outbox.flush(); 0")
    until_record(first, rid, "r.status === 'sending'")
    first.context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });")
    second = first.context.new_page()
    first.close()
    sent: list[str] = []
    second.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/sync")
              else None)
    second.clock.install()
    second.goto(f"{live_server.url}/outbox")
    wait_outbox(second)
    assert second.evaluate("navigator.locks === undefined")
    second.evaluate("window.outbox.flush()")
    until_record(second, rid, "r.status === 'sending'")
    assert sent == []  # younger than 2 minutes: maybe still on its way
    second.clock.run_for(125_000)
    until_record(second, rid, "r.status === 'received'")
    assert stored_once(live_server, [rid])


def test_sign_out_reads_the_outbox_and_never_clears_unsent_records_unasked(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    (uid,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Nguyễn Văn Bình'")
    page.context.set_offline(True)
    rid = add(page, "visit", visit(pid))
    page.evaluate("window.outbox.flush()")
    # Sign out at once, before the page has drawn any count of the outbox.
    page.evaluate("document.getElementById('outbox-status').remove()")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("#sign-out-form button")
    for _ in range(50):
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert len(dialogs) == 1 and "Có 1 bản ghi" in dialogs[0]
    assert page.url == f"{live_server.url}/"  # dismissed: still signed in

    # A sign-out that skipped the check (no JavaScript, a page that failed): the server ends
    # the session but clears nothing, and the unsent record waits for its owner.
    page.route("**/api/v1/sync", lambda route: route.abort())  # nothing gets through
    page.context.set_offline(False)
    answers: list[dict[str, str]] = []
    page.on("response", lambda r: answers.append(r.headers) if "/auth/sign-out" in r.url
            else None)
    page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('sign-out-form'))")
    page.wait_for_url(f"{live_server.url}/signin")
    assert answers and "clear-site-data" not in answers[0]
    warning = page.locator("#outbox-others")
    warning.wait_for()
    assert "1" in warning.inner_text()
    assert until(page, f"async () => (await indexedDB.databases()).some(d => d.name === "
                       f"'donghanh-{uid}')")

    # Its owner signs in again: it is sent.
    page.unroute("**/api/v1/sync")
    page.click("#passkey-signin")
    page.wait_for_url(f"{live_server.url}/")
    wait_outbox(page)
    flush_until_empty(page)
    assert stored_once(live_server, [rid])


def cached_pages_of(page: Any, uid: int) -> list[str]:
    return page.evaluate(
        """async (uid) => {
          const found = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const req of await cache.keys()) {
              const text = await (await cache.match(req)).text();
              if (text.includes(`data-user="${uid}"`)) found.push(`${name} ${req.url}`);
            }
          }
          return found;
        }""", uid)


def test_a_different_person_on_a_shared_phone_sees_nothing_of_the_previous_one(phone,
                                                                               live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    (a,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Nguyễn Văn Bình'")
    (b,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Trần Thị Cúc'")

    # A records a visit through its form (the picker shows the person's name) ...
    page.goto(f"{live_server.url}/visits/new?person={pid}")
    wait_outbox(page)
    page.locator("#visit-form input[name=support]").first.check()
    page.fill("#visit-form textarea[name=health]", "Ổn định")
    page.locator("#visit-form button[type=submit]").click()
    page.wait_for_url("**/outbox")
    wait_outbox(page)
    flush_until_empty(page)
    (received,) = page.evaluate("window.outbox.list()")
    assert received["status"] == "received" and received["receipt"]
    # ... and once the server holds it, the phone keeps no name with it.
    assert NAME not in json.dumps(received, ensure_ascii=False)
    assert NAME in page.locator(f"li[data-id='{received['id']}']").inner_text()  # from caseload
    assert until(page, f"async () => {{ for (const k of await caches.keys()) {{ const r = await "
                       f"(await caches.open(k)).match('/app'); if (r && (await r.text())"
                       f".includes('data-user=\"{a}\"')) return true; }} return false; }}")
    page.context.set_offline(True)
    add(page, "visit", visit(pid, notes="chưa gửi"))
    # A's session ends (expired) before the record could be sent, and the phone changes hands.
    live_server.sql("DELETE FROM app_session WHERE user = ?", a)
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/signin")
    warning = page.locator("#outbox-others")
    warning.wait_for()
    assert "1" in warning.inner_text()

    enrol(page, live_server, "Trần Thị Cúc")
    wait_outbox(page)
    page.evaluate("window.outbox.ready")
    names = page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    assert f"donghanh-{a}" not in names
    assert cached_pages_of(page, a) == []
    assert page.evaluate("window.outbox.list()") == []
    page.goto(f"{live_server.url}/app")
    wait_outbox(page)
    page.evaluate("window.outbox.ready")
    assert NAME not in page.inner_text("body")
    assert f'data-user="{b}"' in page.content()
    # Offline, the shell the worker answers with is B's, never A's.
    until(page, f"async () => {{ for (const k of await caches.keys()) {{ const r = await "
                f"(await caches.open(k)).match('/outbox'); if (r && (await r.text())"
                f".includes('data-user=\"{b}\"')) return true; }} return false; }}")
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/outbox")
    assert f'data-user="{b}"' in page.content()
    assert cached_pages_of(page, a) == []
    page.context.set_offline(False)


def test_a_cursor_the_update_feed_refuses_is_dropped(phone, live_server):
    """A cursor from before the feed counted in sequence numbers answers 400: the phone asks
    again without one and keeps the new cursor. (Paging with `more` needs the sequence-number
    feed; it is exercised once both sides are merged.)"""
    page = phone
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.evaluate("window.outbox.flush()")
    (uid,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Nguyễn Văn Bình'")
    meta = """([name, value]) => new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => {
        const t = r.result.transaction("meta", "readwrite");
        const s = t.objectStore("meta");
        const got = value === null ? s.get("updatesCursor") : s.put(value, "updatesCursor");
        t.oncomplete = () => { r.result.close(); resolve(got.result); };
        t.onerror = () => reject(t.error);
      };
    })"""
    page.evaluate(meta, [f"donghanh-{uid}", "cursor-from-before"])
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/me/updates" in r.url else None)
    page.evaluate("window.outbox.flush()")
    feed = f"{live_server.url}/api/v1/me/updates"
    assert asked[:2] == [f"{feed}?since=cursor-from-before", feed]
    cursor = page.evaluate(meta, [f"donghanh-{uid}", None])
    assert cursor and cursor != "cursor-from-before"


def test_a_phone_upgraded_from_named_labels_keeps_no_names(phone, live_server):
    """Version 1 of the phone's database kept a label with the person's name on each record;
    opening it as version 2 drops those labels, and the record is still sent."""
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    (uid,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Nguyễn Văn Bình'")
    rid = "0b6c1e7e-2f7a-4c55-9d1e-3a1f5c9e0d01"
    page.goto(f"{live_server.url}/healthz")  # same origin, no page script
    page.evaluate("""([name, rec]) => new Promise((resolve, reject) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => {
        const db = r.result;
        db.createObjectStore("records", { keyPath: "id" }).createIndex("status", "status");
        db.createObjectStore("meta");
        db.createObjectStore("caseload", { keyPath: "id" });
      };
      r.onsuccess = () => {
        const t = r.result.transaction("records", "readwrite");
        t.objectStore("records").put(rec);
        t.oncomplete = () => { r.result.close(); resolve(); };
        t.onerror = () => reject(t.error);
      };
    })""", [f"donghanh-{uid}", {
        "id": rid, "kind": "visit", "version": 1, "recorded_at": "2026-11-28T01:00:00Z",
        "data": visit(pid), "label": f"Thăm hỏi · {NAME} · 2026-11-28", "status": "saved",
        "receipt": None, "state": None, "errors": {}, "reason": "",
        "created": "2026-11-28T01:00:00Z", "updated": "2026-11-28T01:00:00Z"}])
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.evaluate("window.outbox.ready")
    flush_until_empty(page)
    (rec,) = page.evaluate("window.outbox.list()")
    assert rec["id"] == rid and rec["status"] == "received"
    assert NAME not in json.dumps(rec, ensure_ascii=False)
    assert stored_once(live_server, [rid])
