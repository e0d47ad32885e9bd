"""Importing a 2,000-row register in Chromium on a slow link (issue 17): the official sees the
file going up and then how many rows are written, before the outcome."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.browser import enrol, until

pytestmark = pytest.mark.browser

ROWS = 2000
# What the page shows, as it shows it: every value of the upload bar and of the write
# progress, and whether the outcome was on the page yet. Injected by the debugger protocol
# (the app's CSP does not govern it) into every document of the test's page.
RECORDER = """
window.__seen = [];
new MutationObserver(() => {
  const done = !!document.querySelector('.import-done, #preview');
  const up = document.getElementById('upload-progress');
  if (up && !up.closest('[hidden]') && up.hasAttribute('value'))
    window.__seen.push({bar: 'upload', value: up.value, done});
  const steps = document.querySelectorAll('progress.import-progress');
  if (steps.length) window.__seen.push({bar: 'write', value: steps[steps.length - 1].value, done});
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['value', 'hidden']});
"""


def register(village: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Năm sinh", "Giới tính", "Thôn", "Diện quản lý"])
    for i in range(1, ROWS + 1):
        sheet.append([f"Người Nhập Thử {i:04d}", 1950 + i % 50, "Nam" if i % 2 else "Nữ",
                      village, "Sau cai nghiện"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _values(seen: list[dict], bar: str) -> list[float]:
    return [s["value"] for s in seen if s["bar"] == bar and not s["done"]]


def test_a_large_import_shows_its_progress(phone, live_server, tmp_path: Path):
    page = phone
    enrol(page, live_server, "Lê Thị Hoa")
    [(village, commune)] = live_server.sql(
        "SELECT v.name, v.parent FROM area v JOIN app_user u ON v.parent = u.area "
        "WHERE u.display_name = ? AND v.level = 'village' ORDER BY v.id LIMIT 1", "Lê Thị Hoa")
    before = live_server.sql("SELECT count(*) FROM person WHERE commune = ?", commune)[0][0]
    upload = tmp_path / "so-quan-ly.xlsx"
    upload.write_bytes(register(village))
    page.context.add_init_script(RECORDER)
    page.goto(f"{live_server.url}/people/import")
    # A slow link: about 20 KB a second up, so the file takes seconds to go.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 20_000})
    page.set_input_files('input[name="file"]', str(upload))
    page.click("#import-upload button[type=submit]")
    until(page, "() => !!document.querySelector('#preview')", timeout=180_000)
    seen = page.evaluate("window.__seen")
    sent = _values(seen, "upload")
    # The bar moved through the upload, more than once, before the preview came.
    assert len({v for v in sent if 0 < v < 100}) >= 2, sent
    assert sent == sorted(sent), sent
    assert page.locator("#preview tr.good").count() == ROWS
    assert page.locator("#preview tr.bad").count() == 0

    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    page.click('form[action="/people/import/confirm"] button[type=submit]')
    until(page, "() => !!document.querySelector('.import-done')", timeout=300_000)
    seen = page.evaluate("window.__seen")
    written = _values(seen, "write")
    # Rows were counted on the page while they were written, in order, before the outcome.
    assert len({v for v in written if 0 < v < ROWS}) >= 2, written
    assert written == sorted(written), written
    assert f"Đã nhập {ROWS} người vào sổ." in page.locator(".import-done").inner_text()
    after = live_server.sql("SELECT count(*) FROM person WHERE commune = ?", commune)[0][0]
    assert after == before + ROWS
