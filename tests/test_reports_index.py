"""The reports page opens on the report due next (with its due date) and the month in
progress, and says why a period's report would be empty."""

from __future__ import annotations

import datetime as dt
import html
import re

from server import vntime
from server.reports import periods
from tests.conftest import run
from tests.factories import make_entry

D = dt.date
SEEDS = {"h1_cutoff": "05-31", "year_cutoff": "11-30"}  # due 10 June and 10 December


def _open(day: dt.date) -> list[tuple[str, dt.date, dt.date, dt.date | None]]:
    return [(o.period.kind, o.period.start, o.period.end, o.due)
            for o in periods.opening_periods(day, **SEEDS)]


def test_late_november_opens_on_the_annual_report_not_the_past_six_months():
    assert _open(D(2026, 11, 28)) == [
        ("year", D(2025, 12, 1), D(2026, 11, 30), D(2026, 12, 10)),
        ("month", D(2026, 11, 1), D(2026, 11, 30), None)]


def test_the_first_half_opens_on_the_six_month_report_then_the_annual_one():
    assert _open(D(2026, 3, 1)) == [
        ("h1", D(2025, 12, 1), D(2026, 5, 31), D(2026, 6, 10)),
        ("year", D(2025, 12, 1), D(2026, 11, 30), D(2026, 12, 10)),
        ("month", D(2026, 3, 1), D(2026, 3, 31), None)]


def test_a_period_over_but_not_yet_due_comes_first_until_its_due_date():
    assert [k for k, *_ in _open(D(2026, 6, 10))] == ["h1", "year", "month"]
    assert [k for k, *_ in _open(D(2026, 6, 11))] == ["year", "month"]
    assert _open(D(2026, 12, 5))[:2] == [
        ("year", D(2025, 12, 1), D(2026, 11, 30), D(2026, 12, 10)),
        ("h1", D(2026, 12, 1), D(2027, 5, 31), D(2027, 6, 10))]
    assert _open(D(2026, 12, 11))[0] == ("h1", D(2026, 12, 1), D(2027, 5, 31), D(2027, 6, 10))


def test_the_other_cutoffs_move_the_due_date_with_them():
    first = periods.opening_periods(D(2026, 11, 28), h1_cutoff="06-30", year_cutoff="12-31")[0]
    assert (first.period.kind, first.period.end, first.due) == (
        "year", D(2026, 12, 31), D(2027, 1, 10))


def _items(text: str) -> list[str]:
    section = text.split('class="list presets"', 1)[1].split("</ul>", 1)[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", li)).split())
            for li in section.split("<li>")[1:]]


def test_the_page_shows_due_dates_and_why_a_report_is_empty(world, as_user):
    # The page runs on today's Vietnam date; the entries are dated inside what it opens on.
    day = vntime.today()
    first, month = periods.opening_periods(day)[0], periods.opening_periods(day)[-1]
    alice = as_user(world["alice"])
    items = _items(alice.get("/reports").text)
    assert len(items) == len(periods.opening_periods(day))
    assert f"Hạn nộp {first.due:%d/%m/%Y}" in items[0]
    assert items[-1].startswith(month.period.label()) and "đang diễn ra" in items[-1]
    assert all("Chưa ghi nhận gì trong kỳ này." in i for i in items)
    # Two waiting in the month in progress (in the first period too): the page says so.
    for _ in range(2):
        run(make_entry("visit", commune=world["A"], author=world["bob"], entry_date=day))
    items = _items(alice.get("/reports").text)
    assert "Chưa có bản ghi nào của kỳ này được duyệt: 2 bản ghi đang chờ duyệt." in items[0]
    assert "Chưa có bản ghi nào của kỳ này được duyệt: 2 bản ghi đang chờ duyệt." in items[-1]
    # Once one is approved, the report has something to show: no excuse is given.
    run(make_entry("visit", commune=world["A"], author=world["bob"], entry_date=day,
                   state="approved"))
    items = _items(alice.get("/reports").text)
    assert not any("Chưa" in i for i in items)
    # Another commune's entries do not count in Alice's commune.
    dave = as_user(world["dave"])
    assert all("Chưa ghi nhận gì trong kỳ này." in i for i in _items(dave.get("/reports").text))


def test_a_bare_reports_page_starts_its_form_on_the_report_due_next(world, as_user):
    first = periods.opening_periods(vntime.today())[0].period
    text = as_user(world["alice"]).get("/reports").text
    assert f'<option value="{first.kind}" selected>' in text
    assert f'name="year" inputmode="numeric" maxlength="4" value="{first.year}"' in text


def test_the_report_itself_says_why_it_is_empty_instead_of_a_page_of_zeros(world, as_user):
    day = vntime.today()
    month = periods.opening_periods(day)[-1].period
    url = f"/reports/view?area={world['A']}&{'&'.join(f'{k}={v}' for k, v in month.query().items())}"
    alice, eve = as_user(world["alice"]), as_user(world["eve"])
    empty = re.compile(r'id="report-empty"[^>]*>([^<]*)<')
    assert empty.search(alice.get(url).text).group(1) == "Chưa ghi nhận gì trong kỳ này."
    run(make_entry("visit", commune=world["A"], author=world["bob"], entry_date=day))
    assert empty.search(alice.get(url).text).group(1) == (
        "Chưa có bản ghi nào của kỳ này được duyệt: 1 bản ghi đang chờ duyệt.")
    # The supervisor's province report says the same of the communes below it.
    province = url.replace(f"area={world['A']}", f"area={world['province']}")
    assert "1 bản ghi đang chờ duyệt" in eve.get(province).text
    run(make_entry("visit", commune=world["A"], author=world["bob"], entry_date=day,
                   state="approved"))
    assert 'id="report-empty"' not in alice.get(url).text
