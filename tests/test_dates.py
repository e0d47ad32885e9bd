"""Every date a person reads is dd/mm/yyyy and every time is Vietnam time (issue 12).

The pages are crawled as each role would click through them, from the home page and the menus,
with the demo data loaded, and their *visible* text is searched for an ISO date. Attribute values
are not text: a date input's `value=`/`max=` must stay ISO (that is what the browser reads).
The outbox list (drawn by the phone) is checked in tests/test_fit_browser.py.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

from server import fmt
from tests.conftest import run

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
UTC_WORD = re.compile(r"\bUTC\b")
# Links whose answer is not a page to read (files, switches, sign-out) or is the public site.
SKIP = re.compile(r"^/(static|lang|auth|signin|enrol|sw\.js|manifest)|\.(docx|csv|json|xlsx)$"
                  r"|/export|/download|/docx")


class _Page(HTMLParser):
    """Visible text and same-site links of one page (script, style, template are not shown)."""

    HIDDEN = {"script", "style", "template", "textarea"}

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(urldefrag(href)[0])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def crawl(client: Any, limit: int = 120, per_shape: int = 6) -> dict[str, str]:
    """Visible text by path, breadth first from the home page, a few pages per path shape
    (/review/<id> of several kinds of entry, not every entry)."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue = ["/"]
    texts: dict[str, str] = {}
    while queue and len(texts) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        shape = re.sub(r"/(\d+|[0-9a-f-]{36})(?=/|$)", "/N", path)  # /people/3 is /people/4
        if url in seen or SKIP.search(path) or shapes.get(shape, 0) >= per_shape:
            continue
        seen.add(url)
        shapes[shape] = shapes.get(shape, 0) + 1
        res = client.get(url)
        if res.status_code != 200 or "text/html" not in res.headers.get("content-type", ""):
            continue
        page = _Page()
        page.feed(res.text)
        texts[url] = " ".join(page.text)
        queue.extend(link for link in page.links if link not in seen)
    return texts


def test_the_filters_write_dates_the_vietnamese_way() -> None:
    assert fmt.date(dt.date(2026, 3, 9)) == "09/03/2026"
    assert fmt.date("2026-03-09") == "09/03/2026"
    assert fmt.date(None) == "—"
    # 20:30 UTC on the 9th is 03:30 on the 10th in Vietnam.
    late = dt.datetime(2026, 3, 9, 20, 30, tzinfo=dt.UTC)
    assert fmt.datetime(late) == "10/03/2026 03:30"
    assert fmt.date(late) == "10/03/2026"
    assert fmt.datetime(late.replace(tzinfo=None)) == "10/03/2026 03:30"  # naive means UTC


def test_numbers_and_percentages_follow_the_locale() -> None:
    from server import i18n

    token = i18n._current.set("vi")
    try:
        assert fmt.percent(0) == "0,0%"
        assert fmt.percent(0.857) == "85,7%"
        assert fmt.number(1234) == "1.234"
        assert fmt.number(2.5, 1) == "2,5"
    finally:
        i18n._current.reset(token)
    token = i18n._current.set("en")
    try:
        assert fmt.percent(0.857) == "85.7%"
        assert fmt.number(1234) == "1,234"
    finally:
        i18n._current.reset(token)


def test_no_page_shows_an_iso_date_or_utc(fresh_db: Any, as_user: Any) -> None:
    from server.demo import load_demo

    ids = run(load_demo())
    users = ids["users"]
    offenders: list[str] = []
    crawled = 0
    for who in ("alice", "bob", "eve"):
        texts = crawl(as_user(users[who]))
        crawled += len(texts)
        for url, text in texts.items():
            for bad in (ISO_DATE, UTC_WORD):
                found = bad.search(text)
                if found:
                    start = max(found.start() - 60, 0)
                    offenders.append(f"{who} {url}: …{text[start:found.end() + 20]}…")
    assert crawled > 25  # the crawl really reached the areas' pages
    assert not offenders, "\n".join(offenders)


def test_review_pages_show_dates_and_vietnam_times(fresh_db: Any, as_user: Any) -> None:
    """The entry headings and the review page (which used to say "UTC") in one look."""
    from server.demo import load_demo

    ids = run(load_demo())
    alice = as_user(ids["users"]["alice"])
    queue = alice.get("/review")
    assert queue.status_code == 200
    first = re.search(r'href="/review/([0-9a-f-]{36})"', queue.text)
    assert first, "the demo has entries waiting for review"
    page = alice.get(f"/review/{first.group(1)}")
    assert page.status_code == 200
    parser = _Page()
    parser.feed(page.text)
    text = " ".join(parser.text)
    assert re.search(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b", text)  # received, Vietnam time
    assert not ISO_DATE.search(text) and not UTC_WORD.search(text)
