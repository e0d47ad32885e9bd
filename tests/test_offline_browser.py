"""Offline first, in real Chromium with the network really cut (context.set_offline).

Installable shell, 50 records made offline and sent exactly once, a flaky network and a server
killed mid-sync, a refused record that stays visible, sign-out that wipes the phone, an
expired session while offline, and an outbox that survives a browser restart.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from typing import Any

import pytest

from tests.browser import CHROMIUM_ARGS, LiveServer, add_authenticator, enrol, until

pytestmark = pytest.mark.browser

TODAY = dt.date.today().isoformat()


def live_person(server: LiveServer, volunteer: str) -> int:
    """A person supported on `volunteer`'s team, written straight into the live database."""
    (commune, village), = server.sql(
        "SELECT a.id, v.id FROM area a JOIN area v ON v.parent = a.id WHERE a.code = 'HK' "
        "ORDER BY v.id LIMIT 1")
    (user,), = server.sql("SELECT id FROM app_user WHERE display_name = ?", volunteer)
    code = f"LV-{uuid.uuid4().hex[:6]}"
    server.sql(
        "INSERT INTO person (commune, code, full_name, search_text, birth_year, sex, village, "
        "phone, address, category, status, notes, created_at, updated_at) VALUES "
        "(?, ?, 'Người Thử Trực Tuyến', 'nguoi thu truc tuyen', 1990, 'male', ?, '', '', "
        "'post_rehab', 'active', '', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00')",
        commune, code, village)
    (pid,), = server.sql("SELECT id FROM person WHERE code = ?", code)
    server.sql("INSERT INTO category_period (person, category, start_date, end_reason) "
               "VALUES (?, 'post_rehab', '2025-01-01', '')", pid)
    server.sql("INSERT INTO team_member (person, user, role, start_date) "
               "VALUES (?, ?, 'primary', '2025-01-01')", pid, user)
    return int(pid)


def village_id(server: LiveServer) -> int:
    (vid,), = server.sql("SELECT v.id FROM area v JOIN area c ON v.parent = c.id "
                         "WHERE c.code = 'HK' ORDER BY v.id LIMIT 1")
    return int(vid)


def visit(pid: int, **over: Any) -> dict[str, Any]:
    data = {"person": pid, "date": TODAY, "visit_kind": "home", "met": True,
            "drug_signs": "none", "risk": "low", "support": ["counselling"]}
    data.update(over)
    return data


def talk(vid: int) -> dict[str, Any]:
    return {"date": TODAY, "village": vid, "setting": "community", "format": "talk",
            "topics": ["law"], "attendees_total": 30, "attendees_women": 12}


def referral(pid: int) -> dict[str, Any]:
    return {"person": pid, "date": TODAY, "service": "health_station",
            "reason": "Khám sức khỏe định kỳ", "urgency": "normal"}


def wait_outbox(page: Any) -> None:
    until(page, "() => window.outbox !== undefined")


def add(page: Any, kind: str, data: dict[str, Any]) -> str:
    return page.evaluate("async ([k, d]) => (await window.outbox.add(k, d)).id", [kind, data])


def statuses(page: Any) -> dict[str, str]:
    return page.evaluate(
        "async () => Object.fromEntries((await window.outbox.list()).map(r => [r.id, r.status]))")


def stored_once(server: LiveServer, ids: list[str]) -> bool:
    marks = ",".join("?" * len(ids))
    rows = server.sql(f"SELECT id, COUNT(*) FROM entry WHERE id IN ({marks}) GROUP BY id", *ids)
    return len(rows) == len(ids) and all(n == 1 for _id, n in rows)


def flush_until_empty(page: Any, tries: int = 20) -> None:
    for _ in range(tries):
        page.evaluate("window.outbox.flush()")
        if page.evaluate("window.outbox.count()") == 0:
            return
        page.wait_for_timeout(200)
    raise AssertionError("outbox did not drain")


def test_installable_and_opens_offline(phone, live_server):
    page = phone
    enrol(page, live_server, "Nguyễn Văn Bình")
    until(page, "async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()  # now controlled by the service worker
    for _ in range(150):  # the signed-in user's shell cache holds the offline home
        if page.evaluate("async () => { for (const k of await caches.keys()) "
                         "if (await (await caches.open(k)).match('/app')) return k; return ''; }"):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the shell was not cached")
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright contexts are incognito-like, which Chromium reports; nothing else may be.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["lang"] == "vi"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}

    page.context.set_offline(True)
    page.goto(f"{live_server.url}/")
    assert page.locator("#offline-caseload").count() == 1  # the cached offline home
    page.reload()
    assert page.locator("#offline-caseload").count() == 1
    page.context.set_offline(False)


def test_fifty_records_made_offline_arrive_exactly_once(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    vid = village_id(live_server)
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.context.set_offline(True)
    ids = []
    for i in range(50):
        kind = ("visit", "talk", "referral")[i % 3]
        data = visit(pid) if kind == "visit" else talk(vid) if kind == "talk" else referral(pid)
        ids.append(add(page, kind, data))
    assert page.evaluate("window.outbox.count()") == 50
    # A flush tried while offline leaves each record "saved" once it has given up.
    until(page,
        "async () => (await window.outbox.list()).every(r => r.status === 'saved')")
    until(page, "document.getElementById('outbox-status').dataset.waiting === '50'")

    page.context.set_offline(False)
    flush_until_empty(page)
    assert stored_once(live_server, ids)
    assert set(statuses(page).values()) == {"received"}
    receipts = page.evaluate("async () => (await window.outbox.list()).map(r => r.receipt)")
    assert all(receipts)
    # Least data on the phone: once received, the record's content is gone from it.
    assert page.evaluate("async () => (await window.outbox.list()).every(r => r.data === null)")


def test_flaky_network_and_a_killed_server_lose_nothing(browser):
    server = LiveServer()
    server.prepare()
    server.start()
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    add_authenticator(context, page)
    try:
        pid = live_person(server, "Trần Thị Cúc")
        enrol(page, server, "Trần Thị Cúc")
        wait_outbox(page)
        context.set_offline(True)
        ids = [add(page, "visit", visit(pid, notes=f"#{i}")) for i in range(100)]
        # Toggle the network while the backlog drains.
        for _ in range(6):
            context.set_offline(False)
            page.evaluate("window.outbox.flush(); 0")
            page.wait_for_timeout(60)
            context.set_offline(True)
            page.wait_for_timeout(30)
        context.set_offline(False)
        # Kill the server (SIGKILL) while a batch is on the wire, then bring it back. Another
        # writer holds the database's write lock (a real lock, as another process's sync
        # holds it), so the batch waits inside the server, unanswered, until the kill: a batch
        # that finished between two looks of the test would leave nothing on the wire to kill.
        context.set_offline(True)
        more = [add(page, "visit", visit(pid, notes=f"late #{i}")) for i in range(200)]
        holder = sqlite3.connect(server.dbdir / "live.sqlite", timeout=10, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            context.set_offline(False)
            page.evaluate("window.outbox.flush(); 0")
            until(page,
                "async () => (await window.outbox.list()).some(r => r.status === 'sending')")
            server.kill()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        page.evaluate("window.outbox.flush()")  # the server is down: everything unsent stays
        left = page.evaluate("window.outbox.count()")
        assert left == sum(1 for s in statuses(page).values() if s in ("saved", "sending"))
        server.start()
        flush_until_empty(page, tries=40)
        assert stored_once(server, ids + more)
        assert set(statuses(page).values()) == {"received"}
    finally:
        context.close()
        server.stop()


def test_refused_record_stays_visible_with_its_reason(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    bad = add(page, "visit", visit(pid, date="2099-01-01"))
    good = add(page, "visit", visit(pid))
    flush_until_empty(page)
    st = statuses(page)
    assert st[bad] == "attention" and st[good] == "received"
    page.goto(f"{live_server.url}/outbox")
    item = page.locator(f"li[data-id='{bad}']")
    item.wait_for()
    # The server's message, in words, once; never the field's code (issue 12).
    text = item.inner_text()
    assert text.count("Ngày không được ở tương lai.") == 1 and "date:" not in text
    # Still there after another sync and a reload: never silently dropped.
    page.evaluate("window.outbox.flush()")
    page.reload()
    page.locator(f"li[data-id='{bad}']").wait_for()
    # The user may discard it explicitly.
    page.on("dialog", lambda d: d.accept())
    page.locator(f"li[data-id='{bad}'] .outbox-discard").click()
    until(page, f"async () => !(await window.outbox.list()).some(r => r.id === '{bad}')")


def test_sign_out_wipes_the_phone_for_the_next_user(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.context.set_offline(True)
    add(page, "visit", visit(pid))
    page.evaluate("window.outbox.flush()")  # fails offline; the record stays waiting
    page.evaluate("window.outbox.refreshStatus()")
    until(page, "document.getElementById('outbox-status').dataset.waiting === '1'")
    dialogs: list[str] = []

    def answer(d):
        dialogs.append(d.message)
        d.dismiss() if len(dialogs) == 1 else d.accept()

    page.on("dialog", answer)
    page.click("#sign-out-form button")  # the warning, dismissed: still signed in
    for _ in range(100):  # the page reads the outbox before it asks
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert len(dialogs) == 1 and "1" in dialogs[0]
    assert page.url == f"{live_server.url}/"
    page.context.set_offline(False)
    page.click("#sign-out-form button")  # accepted (or nothing left to warn about)
    page.wait_for_url("**/signin?signed_out=1")
    until(page,
        "async () => (await indexedDB.databases()).filter(d => d.name.startsWith('donghanh-'))"
        ".length === 0 && (await caches.keys()).filter(k => k.startsWith('donghanh-shell-'))"
        ".length === 0")  # the static assets' cache may come back: it holds no one's data

    enrol(page, live_server, "Trần Thị Cúc")
    wait_outbox(page)
    assert page.evaluate("window.outbox.list()") == []
    page.goto(f"{live_server.url}/app")
    assert "Người Thử Trực Tuyến" not in page.inner_text("main")


def test_sign_in_ended_while_offline_waits_for_sign_in(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    page.context.set_offline(True)
    rid = add(page, "visit", visit(pid))
    (uid,), = live_server.sql("SELECT id FROM app_user WHERE display_name = 'Nguyễn Văn Bình'")
    # The sign-in ends while the phone is offline (as revoking does: a tombstone row).
    live_server.sql("UPDATE app_session SET data = '{\"ended\":true}', user = NULL "
                    "WHERE user = ?", uid)
    page.context.set_offline(False)
    page.evaluate("window.outbox.flush()")
    assert statuses(page)[rid] == "saved"
    assert page.locator("#outbox-signin").is_visible()
    page.goto(f"{live_server.url}/signin?next=/outbox")
    page.click("#passkey-signin")
    page.wait_for_url(f"{live_server.url}/outbox")
    wait_outbox(page)
    flush_until_empty(page)
    assert stored_once(live_server, [rid])


def test_outbox_survives_closing_the_browser(playwright_instance, live_server, tmp_path):
    profile = tmp_path / "profile"

    def launch():
        ctx = playwright_instance.chromium.launch_persistent_context(
            str(profile), executable_path="/usr/bin/chromium", headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 360, "height": 740})
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        return ctx, page

    pid = live_person(live_server, "Nguyễn Văn Bình")
    ctx, page = launch()
    add_authenticator(ctx, page)
    enrol(page, live_server, "Nguyễn Văn Bình")
    wait_outbox(page)
    ctx.set_offline(True)
    ids = [add(page, "visit", visit(pid, notes=str(i))) for i in range(5)]
    ctx.close()

    ctx, page = launch()
    try:
        page.goto(f"{live_server.url}/outbox")
        wait_outbox(page)
        assert set(ids) <= set(statuses(page))
        flush_until_empty(page)
        assert stored_once(live_server, ids)
    finally:
        ctx.close()
