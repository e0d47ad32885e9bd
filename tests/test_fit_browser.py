"""Every page fits a 360 × 740 phone, for every role, with the demo data (issue 12).

Each role signs in with a real passkey and walks every page its menus reach (the bar and
"More"), and the pages those link to (a few of each shape: /people/<id> once, not per person),
plus the pages reached by a form (the import preview). On every page:

- nothing scrolls sideways: `document.documentElement.scrollWidth` is at most 360 (a scroll
  container inside the page would be allowed; there is none today);
- every visible tap target (a, button, select, summary, checkbox, radio) is at least 44 × 44.
  Decided exemptions, after WCAG 2.5.8: a link that is a word of a sentence (inside a `p`,
  `small` or `label` with other text around it), and a checkbox or radio whose label, which
  taps it too, is the 44 × 44 target;
- axe-core (tests/vendor, from npm) finds no serious or critical violation. The app's CSP
  forbids injected scripts, so axe runs in a second context with `bypass_csp=True` on the same
  URL with the same cookies.

The outbox list, drawn by the phone from IndexedDB, is checked for dd/mm/yyyy dates here too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser import add_authenticator, enrol, until

AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*.min.js"))
WIDTH = 360
SKIP = re.compile(r"^/(static|lang|auth|signin|enrol|sw\.js|manifest)|/(xlsx|docx|csv)$"
                  r"|\.(xlsx|docx|csv|json)$|/export")
PER_SHAPE = 1
MAX_PAGES = 40

MEASURE = """() => {
  const out = {width: document.documentElement.scrollWidth, small: []};
  const sentence = (el) => {
    const block = el.closest('p, small, label, .hint');
    if (!block) return false;
    return block.textContent.replace(el.textContent, '').trim().length > 0;
  };
  for (const el of document.querySelectorAll(
      'a[href], button, select, summary, input[type=checkbox], input[type=radio]')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;  // not shown (closed menu, hidden template)
    if (el.closest('.sr-only')) continue;
    if (el.matches('input')) {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) r = label.getBoundingClientRect();
    } else if (el.matches('a') && sentence(el)) continue;
    if (r.width < 43.5 || r.height < 43.5) {
      const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
      const text = (el.textContent || el.value || '').trim().slice(0, 30);
      out.small.push(`${what} "${text}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return out;
}"""

AXE_RUN = """async () => {
  const res = await axe.run(document, {resultTypes: ['violations']});
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}"""


def _shape(url: str) -> str:
    return re.sub(r"/(\d+|[0-9a-f-]{36})(?=/|$)", "/N", urlsplit(url).path)


class Walker:
    """One signed-in phone (the real context) and its axe twin (CSP bypassed)."""

    def __init__(self, browser: Any, server: Any, name: str) -> None:
        self.server = server
        self.ctx = browser.new_context(viewport={"width": WIDTH, "height": 740}, locale="vi-VN")
        self.page = self.ctx.new_page()
        add_authenticator(self.ctx, self.page)
        enrol(self.page, server, name)
        self.axe_ctx = browser.new_context(viewport={"width": WIDTH, "height": 740},
                                           locale="vi-VN", bypass_csp=True,
                                           service_workers="block")
        self.axe_ctx.add_cookies(self.ctx.cookies())
        self.axe_page = self.axe_ctx.new_page()
        self.problems: list[str] = []
        self.seen: list[str] = []

    def close(self) -> None:
        self.axe_ctx.close()
        self.ctx.close()

    def check(self, label: str, by_get: bool = True) -> None:
        """Measure the page the phone is on now; axe it in the twin at the same URL (or, for a
        page answered to a form, on a copy of its HTML)."""
        self.seen.append(label)
        got = self.page.evaluate(MEASURE)
        if got["width"] > WIDTH:
            self.problems.append(f"{label}: scrolls sideways, {got['width']} px wide")
        self.problems.extend(f"{label}: tap target {s}" for s in got["small"])
        if by_get:
            self.axe_page.goto(self.page.url)
        else:
            self.axe_page.set_content(self.page.content())
        self.axe_page.add_script_tag(path=str(AXE))
        self.problems.extend(f"{label}: axe {v}" for v in self.axe_page.evaluate(AXE_RUN))

    def links(self, selector: str) -> list[str]:
        hrefs = self.page.eval_on_selector_all(selector, "els => els.map((a) => a.getAttribute('href'))")
        return [h for h in hrefs if h and h.startswith("/") and not h.startswith("//")
                and not SKIP.search(urlsplit(h).path)]

    def walk(self) -> None:
        self.page.goto(self.server.url + "/")
        menu = ["/"] + self.links("header a[href], .main-nav a[href]")
        shapes: dict[str, int] = {}
        queue = list(dict.fromkeys(menu))
        done: set[str] = set()
        while queue and len(done) < MAX_PAGES:
            url = queue.pop(0)
            shape = _shape(url)
            if url in done or (url not in menu and shapes.get(shape, 0) >= PER_SHAPE):
                continue
            done.add(url)
            shapes[shape] = shapes.get(shape, 0) + 1
            res = self.page.goto(self.server.url + url)
            if res is None or res.status != 200 or "text/html" not in res.headers.get("content-type", ""):
                continue
            self.check(url)
            if url in menu:  # one level below the menus
                queue.extend(h for h in self.links("main a[href]") if h not in done)


def _report(walker: Walker, least: int) -> None:
    assert len(walker.seen) >= least, walker.seen  # the walk really went through the app
    assert not walker.problems, "\n".join(walker.problems)


@pytest.mark.parametrize("name, least", [
    ("Lê Thị Hoa", 15),        # the official of Xã Hoằng Kim
    ("Nguyễn Văn Bình", 5),    # a volunteer there
    ("Vũ Minh Đức", 4),        # the province's supervisor (the roll-up of communes)
])
def test_every_page_fits_a_phone(browser, live_server, name, least):
    walker = Walker(browser, live_server, name)
    try:
        walker.walk()
        if name == "Lê Thị Hoa":
            # The "More" menu opens, without script, and shows what is under it.
            walker.page.goto(live_server.url + "/")
            walker.page.click(".main-nav summary")
            assert walker.page.is_visible(".main-nav a[href='/audit']")
            walker.check("/ with More open")
            # The import preview, reached by sending a file.
            walker.page.goto(live_server.url + "/people/import")
            csv = ("Họ và tên;Năm sinh;Giới tính;Thôn;Diện\n"
                   "Bùi Văn Chín;1979;Nam;Thôn Đông;Tự nguyện\n"
                   "Một Cái Tên Rất Dài Để Thử Chiều Ngang Của Bảng;19x9;?;Thôn Không Có;Lạ\n")
            walker.page.set_input_files("input[name=file]", files=[{
                "name": "danh-sach.csv", "mimeType": "text/csv",
                "buffer": csv.encode("utf-8-sig")}])
            # The form goes by htmx (its upload shows progress), which swaps the preview in.
            walker.page.click("form[action='/people/import'] button[type=submit]")
            until(walker.page, "() => !!document.querySelector('#preview')")
            walker.check("/people/import preview", by_get=False)
        if name != "Nguyễn Văn Bình":
            # The report of the period in progress (the supervisor's is the roll-up of the
            # communes), and its page for print read on the phone (print keeps the A4 table).
            walker.page.goto(live_server.url + "/reports")
            view = walker.links("main a[href^='/reports/view']")
            assert view, "the reports page links a report"
            walker.page.goto(live_server.url + view[0])
            walker.check(view[0])
            printed = walker.page.eval_on_selector_all(
                "a[href^='/reports/print']", "els => els.map((a) => a.getAttribute('href'))")
            assert printed, "the report links its print page"
            walker.page.goto(live_server.url + printed[0])
            walker.check(printed[0])
        _report(walker, least)
    finally:
        walker.close()


def test_outbox_list_shows_dates_the_vietnamese_way(browser, live_server):
    """A record waiting on the phone is listed with its date as dd/mm/yyyy (pwa/outbox.js)."""
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 740}, locale="en-US",
                              timezone_id="America/Los_Angeles")  # the phone's own zone is not Vietnam's
    page = ctx.new_page()
    add_authenticator(ctx, page)
    try:
        enrol(page, live_server, "Trần Thị Cúc")
        page.goto(live_server.url + "/outbox")
        ctx.set_offline(True)
        page.evaluate("() => window.outbox.add('visit', {date: '2026-03-09', met: 'true'}, {title: 'Visit'})")
        page.evaluate("() => window.outbox.refreshStatus()")  # draws the list
        text = page.inner_text("#outbox-list")
        assert "09/03/2026" in text
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    finally:
        ctx.close()
