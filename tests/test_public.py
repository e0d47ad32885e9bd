"""The public page (no sign-in): what it shows, how it is cached, who edits it, how an edit is
previewed and published (and audited) — and that nothing about a person ever reaches it."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest

from server.audit.tables import AuditEvent
from server.public import content, queries
from server.public.tables import PlannedTalk, PublicPage
from server.records.tables import Provider
from server.vntime import today as vn_today
from server.web import PWA_DIR
from tests.conftest import run

TODAY = vn_today()


def publish(world, key: str, actor: str, **page) -> None:
    values = {"body_vi": None, "body_en": None, "hotline_number": "", "hotline_hours": "",
              **page}
    run(queries.save_draft(world[actor], world[key], values))
    assert run(queries.publish_draft(world[actor], world[key]))


def provider(world, key: str = "A", **fields) -> int:
    values = {"name": "Trạm y tế Hoằng Kim", "service": "health_station", "listed": True,
              "hours": "7:00–17:00", "phone": "0237 3 000 115", "address": "Thôn 1", **fields}
    row = run(Provider.insert(Provider(commune=world[key], **values)).returning(Provider.id))
    return int(row[0]["id"])


def talk(world, key: str, days: int, place: str, topic: str = "law", start: str = "") -> int:
    row = run(PlannedTalk.insert(PlannedTalk(
        area=world[key], talk_date=TODAY + dt.timedelta(days=days), start_time=start,
        place=place, topic=topic)).returning(PlannedTalk.id))
    return int(row[0]["id"])


def actions(world, key: str) -> list[str]:
    rows = run(AuditEvent.select(AuditEvent.action).where(
        AuditEvent.commune_id == world[key]).order_by(AuditEvent.id))
    return [r["action"] for r in rows]


# ---------------------------------------------------------------- what the page shows


def test_commune_page_signed_out_shows_law_services_hotline_and_talks(world, client):
    publish(world, "A", "alice", hotline_number="0912 000 100", hotline_hours="7:30–21:00")
    provider(world)
    provider(world, name="Nhóm đồng đẳng", service="peer_group", listed=False)
    provider(world, name="Phòng khám đã đóng", active=False)
    talk(world, "A", 3, "Nhà văn hóa Thôn 2", "refusal", "19:30")
    talk(world, "A", -1, "Hội trường cũ", "law")
    r = client.get("/p/HK")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    text = r.text
    assert "<h1>Xã Hoằng Kim</h1>" in text
    # The law's offer, in Vietnamese by default, with the respectful words.
    assert "Cai nghiện tự nguyện tại gia đình, cộng đồng" in text
    assert "Methadone" in text and "Hỗ trợ sau cai nghiện" in text
    assert "người sử dụng ma túy" in text and "đối tượng" not in text
    # Hotline and services, with phones as tel: links.
    assert '<a href="tel:0912000100">0912 000 100</a>' in text and "7:30–21:00" in text
    assert "Trạm y tế Hoằng Kim" in text and "7:00–17:00" in text and "Thôn 1" in text
    assert '<a href="tel:02373000115">0237 3 000 115</a>' in text
    assert "Nhóm đồng đẳng" not in text and "Phòng khám đã đóng" not in text
    # The talk to come (date, time, place, topic); the one past is gone.
    day = (TODAY + dt.timedelta(days=3)).strftime("%d/%m/%Y")
    assert f"{day}, 19:30" in text and "Kỹ năng từ chối" in text and "Nhà văn hóa Thôn 2" in text
    assert "Hội trường cũ" not in text
    # Its own tiny stylesheet and script; none of the app's shell.
    assert "public.css" in text and "public.js" in text
    assert "htmx" not in text and "app.css" not in text and "csrf" not in text
    assert "set-cookie" not in r.headers
    # The link up to the province's page and to the poster.
    assert 'href="/p/TH"' in text and 'href="/p/HK/poster"' in text


def test_english_through_the_normal_locale_switch(world, client):
    r = client.get("/lang/en?next=/p/HK", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/p/HK"
    text = client.get("/p/HK").text
    assert '<html lang="en">' in text
    assert "Voluntary rehab at home or in the community" in text
    assert 'href="/lang/vi?next=/p/HK"' in text


def test_province_page_lists_the_communes_and_their_talks(world, client):
    publish(world, "province", "eve", hotline_number="1900 0000 11", hotline_hours="24/7")
    talk(world, "B", 5, "Nhà văn hóa Thôn Phú Xá", "stigma")
    talk(world, "province", 8, "Trung tâm Văn hóa tỉnh", "rehab")
    text = client.get("/p/TH").text
    assert "<h1>Tỉnh Thanh Hóa</h1>" in text and 'href="tel:1900000011"' in text
    assert '<a href="/p/HK">Xã Hoằng Kim</a>' in text and '<a href="/p/HT">Xã Hoằng Trung</a>' in text
    assert "Nhà văn hóa Thôn Phú Xá (Xã Hoằng Trung)" in text
    assert "Trung tâm Văn hóa tỉnh (Tỉnh Thanh Hóa)" in text
    assert 'id="services"' not in text  # services are listed on each commune's page


def test_a_page_never_edited_shows_the_standard_text_and_no_hotline(world, client):
    text = client.get("/p/HT").text
    assert "Sử dụng ma túy là vấn đề sức khỏe có thể điều trị được." in text
    assert 'id="hotline"' not in text
    assert "Hiện chưa có buổi tuyên truyền nào được thông báo." in text


@pytest.mark.parametrize("path", ["/p/XX", "/p/HK-01", "/p/XX/poster", "/p/HK-01/poster",
                                  "/p/" + "H" * 300])
def test_unknown_code_or_a_village_is_404(world, client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/p/%00", "/p/HK%00/poster"])
def test_a_nul_in_the_code_is_refused_by_the_input_guard(world, client, path):
    assert client.get(path).status_code == 400  # server.parse.guard_input, for every route


def test_page_is_small(world, client):
    """Page, stylesheet and script together, compressed, stay within 15 KB."""
    publish(world, "A", "alice", hotline_number="0912 000 100", hotline_hours="7:30–21:00")
    for i in range(5):
        provider(world, name=f"Cơ sở {i}")
    for i in range(10):
        talk(world, "A", i, f"Nhà văn hóa Thôn {i}", "law")
    r = client.get("/p/HK")
    total = sum(len(gzip.compress(b)) for b in (
        r.content, (PWA_DIR / "public.css").read_bytes(), (PWA_DIR / "public.js").read_bytes()))
    assert total <= 15 * 1024


# ---------------------------------------------------------------- caching


def test_cacheable_with_etag_and_304(world, client):
    publish(world, "A", "alice", hotline_number="0912 000 100")
    r = client.get("/p/HK")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert "Cookie" in r.headers["vary"]
    etag = r.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{24}"', etag)
    again = client.get("/p/HK", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=300"
    # Another language is another page: the same validator does not match it.
    client.cookies.set("lang", "en")
    assert client.get("/p/HK", headers={"If-None-Match": etag}).status_code == 200
    client.cookies.delete("lang")
    # A published change makes the old copy stale.
    publish(world, "A", "alice", hotline_number="0912 000 999")
    fresh = client.get("/p/HK", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "0912 000 999" in fresh.text
    assert fresh.headers["etag"] != etag


def test_poster_is_cacheable_and_has_the_qr_code(world, client):
    publish(world, "A", "alice", hotline_number="0912 000 100", hotline_hours="7:30–21:00")
    provider(world)
    r = client.get("/p/HK/poster")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=300"
    assert 'src="data:image/png;base64,' in r.text and 'id="qr"' in r.text
    assert "http://localhost:8000/p/HK" in r.text  # the QR's address, printed under it
    assert "0912 000 100" in r.text and "Trạm y tế Hoằng Kim" in r.text
    etag = r.headers["etag"]
    assert client.get("/p/HK/poster", headers={"If-None-Match": etag}).status_code == 304


def test_the_page_worker_is_served_for_its_scope(client):
    r = client.get("/p/sw.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    assert 'caches.open(CACHE)' in r.text


# ---------------------------------------------------------------- editing


def test_draft_preview_then_publish_all_audited(world, as_user, client):
    alice = as_user(world["alice"])
    form = alice.get("/public/HK/edit")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    # The editor starts from the project's standard text.
    assert "Sử dụng ma túy là vấn đề sức khỏe có thể điều trị được." in form.text
    body = content.standard_text("vi") + "\n\n## Lịch tiếp dân\nSáng thứ Tư ZZDRAFTZZ"
    r = alice.post("/public/HK/draft", data={"body_vi": body, "body_en": "",
                                              "hotline_number": "0912 000 100",
                                              "hotline_hours": "7:30–21:00"},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/HK/preview"
    # The preview shows the page as it will be; the public page does not change.
    preview = alice.get("/public/HK/preview")
    assert preview.status_code == 200 and preview.headers["cache-control"] == "no-store"
    assert "ZZDRAFTZZ" in preview.text and "<h3>Lịch tiếp dân</h3>" in preview.text
    assert 'action="/public/HK/publish"' in preview.text
    assert "ZZDRAFTZZ" not in client.get("/p/HK").text
    assert 'id="hotline"' not in client.get("/p/HK").text
    assert "public.draft" in actions(world, "A") and "public.publish" not in actions(world, "A")
    # Publishing makes it the public page.
    r = alice.post("/public/HK/publish", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/HK/edit?published=1"
    page = client.get("/p/HK").text
    assert "ZZDRAFTZZ" in page and '<a href="tel:0912000100">' in page
    row = run(PublicPage.select().where(PublicPage.area == world["A"]).first())
    assert row["version"] == 1 and row["published_by"] == world["alice"]
    assert row["draft_saved_at"] is None and row["body_en"] is None
    event = run(AuditEvent.select().where(AuditEvent.action == "public.publish").first())
    assert event["actor_id"] == world["alice"] and event["commune_id"] == world["A"]
    # A new draft, discarded, never reaches the public.
    alice.post("/public/HK/draft", data={"body_vi": "Nháp ZZSECONDZZ"})
    assert "ZZSECONDZZ" in alice.get("/public/HK/preview").text
    r = alice.post("/public/HK/discard", follow_redirects=False)
    assert r.status_code == 303
    assert "ZZSECONDZZ" not in client.get("/p/HK").text
    assert "ZZSECONDZZ" not in alice.get("/public/HK/preview").text
    assert actions(world, "A")[-4:] == ["public.draft", "public.publish", "public.draft",
                                        "public.discard"]


def test_publish_without_a_draft_changes_nothing(world, as_user):
    alice = as_user(world["alice"])
    r = alice.post("/public/HK/publish", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/HK/edit"
    assert run(PublicPage.count().where(PublicPage.area == world["A"])) == 0
    assert "public.publish" not in actions(world, "A")


def test_the_standard_text_is_kept_as_following_the_project(world, as_user):
    alice = as_user(world["alice"])
    alice.post("/public/HK/draft", data={"body_vi": content.standard_text("vi").replace(
        "\n", "\r\n") + "  \r\n", "body_en": content.standard_text("en")})
    row = run(PublicPage.select().where(PublicPage.area == world["A"]).first())
    assert row["draft_body_vi"] is None and row["draft_body_en"] is None


def test_form_errors_all_at_once_and_nothing_typed_is_lost(world, as_user):
    alice = as_user(world["alice"])
    r = alice.post("/public/HK/draft", data={"body_vi": "  ", "body_en": "x" * 6001,
                                              "hotline_number": "gọi tôi",
                                              "hotline_hours": "Sáng thứ Hai"})
    assert r.status_code == 422
    for field in ("body_vi", "body_en", "hotline_number"):
        assert f'id="err-{field}"' in r.text
    assert "Nhập số điện thoại" in r.text
    assert 'value="gọi tôi"' in r.text and 'value="Sáng thứ Hai"' in r.text
    r = alice.post("/public/HK/draft", data={"body_vi": "Nội dung", "hotline_hours": "8–17"})
    assert r.status_code == 422 and 'id="err-hotline_number"' in r.text
    assert run(PublicPage.count()) == 0


def test_announced_talks_are_checked_added_removed_and_audited(world, as_user, client):
    alice = as_user(world["alice"])
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    r = alice.post("/public/HK/talks", data={"date": yesterday, "start_time": "25:00",
                                              "place": "", "topic": "nonsense"})
    assert r.status_code == 422
    for field in ("date", "start_time", "place", "topic"):
        assert f'id="err-{field}"' in r.text
    r = alice.post("/public/HK/talks", data={"date": "9999-99-99", "place": "Thôn 3",
                                              "topic": "law"})
    assert r.status_code == 422 and 'value="Thôn 3"' in r.text
    far = (TODAY + dt.timedelta(days=400)).isoformat()
    assert alice.post("/public/HK/talks", data={"date": far, "place": "Thôn 3",
                                                 "topic": "law"}).status_code == 422
    soon = (TODAY + dt.timedelta(days=2)).isoformat()
    r = alice.post("/public/HK/talks", data={"date": soon, "start_time": "08:00",
                                              "place": "Trường THCS Hoằng Kim",
                                              "topic": "harms"}, follow_redirects=False)
    assert r.status_code == 303
    assert "Trường THCS Hoằng Kim" in client.get("/p/HK").text
    talk_id = run(PlannedTalk.select(PlannedTalk.id).first())["id"]
    assert as_user(world["dave"]).post(f"/public/HT/talks/{talk_id}/remove").status_code == 404
    assert alice.post("/public/HK/talks/99999999999999999999/remove").status_code == 404
    r = alice.post(f"/public/HK/talks/{talk_id}/remove", follow_redirects=False)
    assert r.status_code == 303
    assert "Trường THCS Hoằng Kim" not in client.get("/p/HK").text
    assert actions(world, "A")[-2:] == ["public.talk_add", "public.talk_remove"]


def test_only_that_communes_officials_edit_its_page(world, as_user, client):
    dave, alice, eve = (as_user(world[k]) for k in ("dave", "alice", "eve"))
    data = {"body_vi": "Trang của người khác"}
    for path in ("/public/HK/edit", "/public/HK/preview"):
        assert dave.get(path).status_code == 404
        assert eve.get(path).status_code == 404
    for path in ("/public/HK/draft", "/public/HK/publish", "/public/HK/discard",
                 "/public/HK/talks"):
        assert dave.post(path, data=data).status_code == 404
    assert alice.get("/public/TH/edit").status_code == 404
    assert alice.get("/public/HK-01/edit").status_code == 404
    assert alice.get("/public/XX/edit").status_code == 404
    assert alice.get("/public/%00/edit").status_code == 400  # the input guard (server.parse)
    # The province supervisor edits the province's page.
    assert eve.get("/public/TH/edit").status_code == 200
    assert eve.get("/public", follow_redirects=False).headers["location"] == "/public/TH/edit"
    assert alice.get("/public", follow_redirects=False).headers["location"] == "/public/HK/edit"
    # Volunteers cannot; signed-out visitors are sent to sign in.
    assert as_user(world["bob"]).get("/public/HK/edit").status_code == 403
    assert as_user(world["bob"]).post("/public/HK/draft", data=data).status_code == 403
    r = client.get("/public/HK/edit", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/signin")
    assert run(PublicPage.count()) == 0


def test_home_and_nav_link_to_the_editor(world, as_user):
    home = as_user(world["alice"]).get("/").text
    assert 'href="/public/HK/edit"' in home and 'href="/public"' in home
    assert 'href="/public/TH/edit"' in as_user(world["eve"]).get("/").text
    assert "/public/" not in as_user(world["bob"]).get("/").text


# ---------------------------------------------------------------- providers' public fields


def test_providers_get_address_hours_phone_and_a_listing_choice(world, as_user, client):
    alice = as_user(world["alice"])
    form = alice.get("/referrals/providers")
    assert 'name="listed" value="1" checked' in form.text  # new ones listed unless unticked
    r = alice.post("/referrals/providers", data={
        "name": "Phòng khám Methadone", "service": "methadone", "address": "x" * 201,
        "hours": "6:30–10:30", "phone": "không có", "listed": "1"})
    assert r.status_code == 422
    assert 'id="err-address"' in r.text and 'id="err-phone"' in r.text
    assert 'value="6:30–10:30"' in r.text and 'value="Phòng khám Methadone"' in r.text
    r = alice.post("/referrals/providers", data={
        "name": "Phòng khám Methadone", "service": "methadone", "address": "Bút Sơn",
        "hours": "6:30–10:30", "phone": "+84 237 3000 120", "listed": "1"},
        follow_redirects=False)
    assert r.status_code == 303
    pid = run(Provider.select(Provider.id).where(Provider.name == "Phòng khám Methadone")
              .first())["id"]
    page = client.get("/p/HK").text
    assert '<a href="tel:+842373000120">+84 237 3000 120</a>' in page and "Bút Sơn" in page
    # Edited off the public page: still a provider for referrals, gone from the directory.
    edit = alice.get(f"/referrals/providers/{pid}")
    assert edit.status_code == 200 and 'value="+84 237 3000 120"' in edit.text
    r = alice.post(f"/referrals/providers/{pid}", data={
        "name": "Phòng khám Methadone", "service": "methadone", "hours": "6:30–11:00"},
        follow_redirects=False)
    assert r.status_code == 303
    assert "Phòng khám Methadone" not in client.get("/p/HK").text
    row = run(Provider.select().where(Provider.id == pid).first())
    assert row["hours"] == "6:30–11:00" and row["listed"] is False and row["active"] is True
    assert actions(world, "A")[-2:] == ["provider.create", "provider.update"]
    # Another commune's provider, or an id that cannot be one: 404.
    assert as_user(world["dave"]).get(f"/referrals/providers/{pid}").status_code == 404
    assert as_user(world["dave"]).post(f"/referrals/providers/{pid}",
                                       data={"name": "x", "service": "methadone"}
                                       ).status_code == 404
    assert alice.get("/referrals/providers/99999999999999999999").status_code == 404


def test_published_hotline_for_other_areas(world):
    assert run(queries.get_published_hotline(world["A"])) == {"number": "", "hours": ""}
    publish(world, "A", "alice", hotline_number="0912 000 100", hotline_hours="24/7")
    run(queries.save_draft(world["alice"], world["A"], {
        "body_vi": None, "body_en": None, "hotline_number": "0912 999 999",
        "hotline_hours": ""}))
    assert run(queries.get_published_hotline(world["A"])) == {"number": "0912 000 100",
                                                              "hours": "24/7"}


# ---------------------------------------------------------------- the demo


def test_demo_publishes_pages_with_hours_phones_hotline_and_talks(fresh_db, client):
    from server.demo import load_demo

    run(load_demo())
    for code in ("HK", "HT", "TH"):
        text = client.get(f"/p/{code}").text
        assert 'id="hotline"' in text and 'href="tel:' in text, code
        assert "Cập nhật ngày" in text, code
        assert text.count("<li><b>") >= 1, code  # upcoming talks
    hk = client.get("/p/HK").text
    assert "Tổ công tác cai nghiện của xã Hoằng Kim" in hk
    assert hk.count('class="service"') == 5 and "Giờ mở cửa: 6:30–10:30" in hk
    assert run(PublicPage.count().where(PublicPage.version == 1)) == 3


def test_control_characters_get_a_clear_422_not_a_server_error(world, as_user):
    """Control characters get the form's own 422; a NUL (PostgreSQL cannot store it) is
    refused before any handler by the input guard (server.parse), for every route."""
    alice = as_user(world["alice"])
    r = alice.post("/public/HK/draft", data={"body_vi": "Nội dung\x01", "hotline_hours": "8\x07",
                                              "hotline_number": "0912 000 100"})
    assert r.status_code == 422, r.status_code
    assert 'id="err-body_vi"' in r.text and 'id="err-hotline_hours"' in r.text
    soon = (TODAY + dt.timedelta(days=2)).isoformat()
    r = alice.post("/public/HK/talks", data={"date": soon, "place": "Thôn\x01", "topic": "law"})
    assert r.status_code == 422 and 'id="err-place"' in r.text, r.status_code
    r = alice.post("/referrals/providers", data={"name": "Trạm\x01", "service": "methadone",
                                                 "hours": "\x02"})
    assert r.status_code == 422, r.status_code
    assert 'id="err-name"' in r.text and 'id="err-hours"' in r.text
    r = alice.post("/public/HK/draft", data={"body_vi": "Nội dung\x00"})
    assert r.status_code == 400, r.status_code
    assert run(PublicPage.count()) == 0 and run(PlannedTalk.count()) == 0
