"""The report document's draft saves itself while the official types (htmx, in Chromium),
and is there again after a reload."""

from __future__ import annotations

import pytest

from server.reports.periods import current_presets
from tests.browser import enrol

pytestmark = pytest.mark.browser

TEXT = "Tình hình trên địa bàn ổn định; đã rà soát danh sách người sau cai."


def test_draft_autosaves_while_typing(phone, live_server):
    page = phone
    enrol(page, live_server, "Lê Thị Hoa")
    h1 = current_presets()[0]
    page.goto(f"{live_server.url}/reports/document?kind=h1&year={h1.year}")
    box = page.locator('textarea[name="situation"]')
    box.fill("")
    box.type(TEXT, delay=5)  # real key presses: the input events htmx listens to
    page.locator("#draft-saved").wait_for(timeout=15000)
    rows = live_server.sql("SELECT situation FROM report_draft WHERE period_start = ?",
                           h1.start.isoformat())
    assert rows == [(TEXT,)]
    page.reload()
    assert page.locator('textarea[name="situation"]').input_value() == TEXT
