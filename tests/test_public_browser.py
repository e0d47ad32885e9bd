"""The public page in Chromium on a 360 px phone: signed out, readable offline after one
visit, no sideways scrolling; and its poster printed to an A4 PDF with the QR code in it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser import LiveServer, enrol


@pytest.fixture
def visitor(browser: Any) -> Any:
    """A signed-out phone: no passkey, no cookie."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def kept_for_offline(page: Any) -> bool:
    return bool(page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.getRegistration('/p/');
        if (!reg || !reg.active || !navigator.serviceWorker.controller) return false;
        const cache = await caches.open('public-v1');
        const style = document.querySelector('link[rel="stylesheet"]').href;
        return !!(await cache.match(location.href)) && !!(await cache.match(style));
    }"""))


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"))


def test_public_page_signed_out_and_offline_after_one_visit(visitor: Any,
                                                           live_server: LiveServer) -> None:
    page = visitor
    response = page.goto(f"{live_server.url}/p/HK")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Xã Hoằng Kim"
    assert page.locator("#hotline a[href^='tel:']").count() == 1
    assert page.locator("#services a[href^='tel:']").count() == 5
    assert page.locator("#talks li").count() >= 1
    assert no_sideways_scroll(page)
    # The stylesheet applied (the app's shell is not there).
    assert page.evaluate("getComputedStyle(document.querySelector('section')).borderRadius") \
        != "0px"
    assert page.context.cookies() == []
    # The page's worker takes control of the open page and the page puts itself in its copy.
    for _attempt in range(100):
        if kept_for_offline(page):
            break
        time.sleep(0.1)
    assert kept_for_offline(page)

    page.context.set_offline(True)
    try:
        page.reload()
        assert page.locator("h1").inner_text() == "Xã Hoằng Kim"
        assert page.locator("#hotline .number").inner_text() == "0912 000 100"
        assert page.locator("#services .service").count() == 5
        assert page.evaluate(
            "getComputedStyle(document.querySelector('section')).borderRadius") != "0px"
        assert no_sideways_scroll(page)
    finally:
        page.context.set_offline(False)


def test_province_page_fits_360_and_links_to_communes(visitor: Any,
                                                      live_server: LiveServer) -> None:
    page = visitor
    page.goto(f"{live_server.url}/p/TH")
    assert no_sideways_scroll(page)
    page.click("#communes a:has-text('Xã Hoằng Trung')")
    page.wait_for_url(f"{live_server.url}/p/HT")
    assert page.locator("h1").inner_text() == "Xã Hoằng Trung"
    assert no_sideways_scroll(page)


def test_poster_prints_to_one_a4_page_with_the_qr_code(visitor: Any,
                                                       live_server: LiveServer) -> None:
    page = visitor
    page.goto(f"{live_server.url}/p/HK/poster")
    qr = page.locator("img#qr")
    assert qr.get_attribute("src").startswith("data:image/png;base64,")
    assert page.evaluate("document.getElementById('qr').complete"
                         " && document.getElementById('qr').naturalWidth > 0")
    assert f"{live_server.url}/p/HK" in page.locator(".qr").inner_text()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert b"/Subtype /Image" in pdf  # the QR code went into the printed page
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1
    # A4 in points: 595 × 842.
    assert re.search(rb"/MediaBox \[0 0 59[56]\.\d+ 84[23]\.\d+\]", pdf)


def test_official_edits_previews_and_publishes(phone: Any, live_server: LiveServer) -> None:
    """From the home page to a published change, at 360 px; the public sees it only after
    publishing. (Commune B's page, so the other tests' commune A page stays as the demo.)"""
    page = phone
    enrol(page, live_server, "Phạm Văn Dũng")
    page.click("#home-public a.button")
    page.wait_for_url(f"{live_server.url}/public/HT/edit")
    assert no_sideways_scroll(page)
    page.fill("input[name=hotline_number]", "0912 000 222")
    text = page.input_value("textarea[name=body_vi]")
    page.fill("textarea[name=body_vi]", text + "\n\n## Giờ tiếp dân\nSáng thứ Năm hằng tuần")
    page.click("#page-text button[type=submit]")
    page.wait_for_url(f"{live_server.url}/public/HT/preview")
    assert page.locator(".preview").is_visible()
    assert page.locator("#law h3", has_text="Giờ tiếp dân").count() == 1
    assert page.locator("#hotline .number").inner_text() == "0912 000 222"
    assert no_sideways_scroll(page)

    other = page.context.browser.new_context(viewport={"width": 360, "height": 740})
    try:
        reader = other.new_page()
        reader.goto(f"{live_server.url}/p/HT")
        assert reader.locator("#hotline .number").inner_text() == "0912 000 200"
        page.click("#publish")
        page.wait_for_url(f"{live_server.url}/public/HT/edit?published=1")
        reader.reload()  # the worker goes to the network first
        assert reader.locator("#hotline .number").inner_text() == "0912 000 222"
        assert reader.locator("#law h3", has_text="Giờ tiếp dân").count() == 1
    finally:
        other.close()
