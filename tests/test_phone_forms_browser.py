"""The record forms on the phone with the network really cut (360×740 Chromium): a record is
checked against the rules rendered from schema/ before it enters the outbox, fields asked only
after another answer appear only then, the offline home's buttons open each form, and a blank
form cached days ago takes the phone's today."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from server.vntime import today as vn_today
from tests.browser import enrol, until
from tests.test_offline_browser import live_person, wait_outbox

pytestmark = pytest.mark.browser

SHELL = ("/app", "/visits/new?shell=1", "/talks/new?shell=1", "/referrals/new?shell=1")



def cached_phone(page: Any, server: Any, volunteer: str = "Nguyễn Văn Bình") -> None:
    """Signed in, controlled by the service worker, with the shell pages cached."""
    enrol(page, server, volunteer)
    wait_outbox(page)
    until(page, "async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()
    wait_outbox(page)
    page.evaluate("window.outbox.flush()")  # the caseload, for the person picker
    for url in SHELL:
        until(page, f"async () => !!(await caches.match('{url}'))", timeout=15000)


def outbox_size(page: Any) -> int:
    return page.evaluate("async () => (await window.outbox.list()).length")


def error(page: Any, form: str, name: str) -> str:
    return page.locator(f"#{form} #field-{name} .field-error").inner_text()


def test_an_invalid_record_is_refused_on_the_phone_offline(phone, live_server):
    page = phone
    cached_phone(page, live_server)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/talks/new")
    wait_outbox(page)
    until(page, "() => window.formCheck !== undefined")
    tomorrow = (vn_today() + dt.timedelta(days=1)).isoformat()
    page.fill("#talk-form input[name=date]", tomorrow)
    page.fill("#talk-form input[name=attendees_total]", "5")
    page.fill("#talk-form input[name=attendees_women]", "9")
    page.fill("#talk-form textarea[name=notes]", "x" * 2001)  # pasted: not cut short
    page.locator("#talk-form button[type=submit]").click()

    assert error(page, "talk-form", "date") == "Ngày không được ở tương lai."
    assert error(page, "talk-form", "village") == "Trường này là bắt buộc."
    assert error(page, "talk-form", "topics") == "Chọn ít nhất một mục."
    assert error(page, "talk-form", "attendees_women") == "Không được nhiều hơn tổng số (5)."
    assert error(page, "talk-form", "notes") == "Tối đa 2000 ký tự."
    assert page.locator("#talk-form .field-error").count() == 5  # each once, nothing else
    assert page.locator("#talk-form #field-notes .counter").inner_text() == "-1 / 2.000"
    assert len(page.input_value("#talk-form textarea[name=notes]")) == 2001
    assert page.locator("#talk-form [aria-invalid=true]").count() == 5
    page.locator("#offline-banner").wait_for(state="visible")
    assert "attendees_women" not in page.locator("#main").inner_text()  # no field codes
    assert page.url.endswith("/talks/new")
    assert outbox_size(page) == 0  # never entered the outbox

    # Corrected, it is saved on the phone (still offline) and the errors are gone.
    page.fill("#talk-form input[name=date]", vn_today().isoformat())
    page.locator("#talk-form select[name=village]").select_option(index=1)
    page.locator("#talk-form input[name=topics]").first.check()
    page.fill("#talk-form input[name=attendees_women]", "5")
    page.fill("#talk-form textarea[name=notes]", "Buổi nói chuyện ở nhà văn hóa")
    page.locator("#talk-form button[type=submit]").click()
    page.wait_for_url("**/outbox")
    wait_outbox(page)
    # One record, saved on the phone (a flush may be trying the cut network: "sending" a moment).
    until(page, "async () => (await window.outbox.list()).map(r => r.status).join() === 'saved'")
    page.context.set_offline(False)


def test_the_not_met_reason_is_asked_only_when_not_met(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    cached_phone(page, live_server)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/visits/new?person={pid}")
    wait_outbox(page)
    until(page, f"!!document.querySelector('select[name=person] option[value=\"{pid}\"]')")
    until(page, "() => window.formCheck !== undefined")
    reason = page.locator("#visit-form #field-not_met_reason")
    assert reason.is_hidden()  # "met" is yes by default
    page.locator("#visit-form input[name=met][value=false]").check()
    assert reason.is_visible()
    page.locator("#visit-form button[type=submit]").click()
    assert error(page, "visit-form", "not_met_reason") == "Ghi lý do không gặp được."
    assert outbox_size(page) == 0

    page.locator("#visit-form select[name=not_met_reason]").select_option(index=1)
    page.locator("#visit-form input[name=met][value=true]").check()
    assert reason.is_hidden()
    page.locator("#visit-form button[type=submit]").click()
    page.wait_for_url("**/outbox")
    wait_outbox(page)
    data = page.evaluate("async () => (await window.outbox.list())[0].data")
    assert data["met"] == "true" and "not_met_reason" not in data  # hidden: not sent
    page.context.set_offline(False)


def test_methadone_adherence_is_asked_only_for_a_person_on_methadone(phone, live_server):
    """Skip logic on the chosen person's category, offline: the picker's options carry it from
    the phone's caseload."""
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")  # post-rehab
    (cuong,), = live_server.sql("SELECT id FROM person WHERE full_name = 'Trần Đức Cường'")
    cached_phone(page, live_server)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/visits/new?person={pid}")
    wait_outbox(page)
    until(page, f"!!document.querySelector('select[name=person] option[value=\"{cuong}\"]')")
    adherence = page.locator("#visit-form #field-methadone")
    assert adherence.is_hidden()
    page.locator("#visit-form select[name=person]").select_option(str(cuong))
    assert adherence.is_visible()
    page.locator("#visit-form select[name=person]").select_option(str(pid))
    assert adherence.is_hidden()
    page.context.set_offline(False)


def test_the_offline_home_opens_each_form_offline(phone, live_server):
    page = phone
    cached_phone(page, live_server)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/app")
    wait_outbox(page)
    page.locator("#offline-banner").wait_for(state="visible")
    assert page.locator("#offline-banner").inner_text() == \
        "Đang ngoại tuyến — ghi chép được lưu trên điện thoại này"
    for text, form in (("Ghi thăm hỏi", "visit-form"), ("Ghi buổi truyền thông", "talk-form"),
                       ("Ghi chuyển gửi", "referral-form")):
        page.goto(f"{live_server.url}/app")
        wait_outbox(page)
        link = page.locator("#main a.button").filter(has_text=text)
        link.click()
        page.locator(f"#{form}").wait_for(timeout=10000)
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["lang"] == "vi"  # the manifest too, offline
    page.context.set_offline(False)


def test_a_blank_form_cached_yesterday_takes_todays_date(phone, live_server):
    page = phone
    cached_phone(page, live_server)
    server_today = vn_today()
    # The phone's clock a day on: the form the worker cached was made "yesterday".
    page.clock.set_fixed_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/visits/new")
    wait_outbox(page)
    until(page, "() => window.formCheck !== undefined")
    phone_today = (server_today + dt.timedelta(days=1)).isoformat()
    day = page.locator("#visit-form input[name=date]")
    assert day.get_attribute("value") == server_today.isoformat()  # as cached
    assert day.input_value() == phone_today
    assert day.evaluate("el => el.max") == phone_today
    nxt = page.locator("#visit-form input[name=next_visit_date]")
    planned = dt.date.fromisoformat(nxt.get_attribute("value") or "")
    assert nxt.input_value() == (planned + dt.timedelta(days=1)).isoformat()
    page.context.set_offline(False)


def test_the_fix_form_shows_only_what_the_record_holds(phone, live_server):
    page = phone
    pid = live_person(live_server, "Nguyễn Văn Bình")
    cached_phone(page, live_server)
    page.context.set_offline(True)
    rid = page.evaluate(
        "async d => (await window.outbox.add('visit', d)).id",
        {"person": str(pid), "date": vn_today().isoformat(), "met": "true", "risk": "low",
         "visit_kind": "home", "drug_signs": "none", "methadone": "na", "support": []})
    page.goto(f"{live_server.url}/visits/new?outbox={rid}")
    wait_outbox(page)
    until(page, "() => document.querySelector('#visit-form').dataset.outboxEdit")
    # The blank form's planned next visit is not the user's answer: it stays empty.
    assert page.input_value("#visit-form input[name=next_visit_date]") == ""
    assert page.input_value("#visit-form input[name=date]") == vn_today().isoformat()
    page.context.set_offline(False)
