"""The report document (Decree 30/2020): prose drafts kept per area and period (no-JS save,
htmx autosave, another device), the figure sentences in vi and en, the print page and the
DOCX without full names, the DOCX opened by python-docx and converted to PDF by headless
LibreOffice, and finalising that freezes prose with the figures.

Fixture: tests/test_reports_tasks.py (quarter 1 of 2026, two post-rehab spells, a relapse and
a transfer) — A: 4 post-rehab people, 2 on schedule; 3 approved sessions, 75 attendees of whom
24 women, 15 under 30, 0 students; 250 materials; 1 compulsory-rehab dossier.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest

from server.reports.tables import FinalReport, ReportDraft
from tests.conftest import run
from tests.test_reports_tasks import QUERY, load_people, transfer_t

SITUATION = "Tình hình an ninh trật tự ổn định; công tác quản lý sau cai được duy trì."
DIFFICULTY = "Thiếu kinh phí hỗ trợ người hỗ trợ tại thôn Kim Sơn."
NAMES = ("Phùng Văn Rạng", "Lương Thị Sen", "Đàm Văn Tới", "Khúc Thị Uyên", "Nguyễn Văn Bình",
         "Trần Thị Cúc")
OUTREACH_VI = ("Tổ chức 3 buổi tuyên truyền với 75 lượt người tham dự, trong đó 24 nữ, 15 người "
               "dưới 30 tuổi và 0 học sinh, sinh viên.")
POST_REHAB_VI = ("2/4 người sau cai nghiện được thăm đúng định kỳ trong suốt thời gian quản lý "
                 "(đạt 50%; chỉ tiêu 100%).")
HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
          "UBND XÃ HOẰNG KIM", "Số: 15/BC-UBND", "Hoằng Kim, ngày", "BÁO CÁO", "Nơi nhận:",
          "CHỦ TỊCH", "Lê Văn Chủ")


@pytest.fixture
def moved(world, as_user):
    ids = run(load_people(world))
    transfer_t(world, ids, as_user)
    return ids


def _form(**fields: str) -> dict:
    return {"kind": "quarter", "year": "2026", "quarter": "1", **fields}


def _write(client, **fields: str):
    return client.post("/reports/document", data=_form(**fields), follow_redirects=False)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_draft_is_saved_without_js_and_seen_on_another_device(world, moved, as_user):
    alice = as_user(world["alice"])
    r = _write(alice, situation=SITUATION, difficulties=DIFFICULTY, doc_number="15/BC-UBND")
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/document?")
    other_device = as_user(world["alice"])  # a new session: nothing kept in the browser
    page = other_device.get(f"/reports/document?{QUERY}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert SITUATION in page.text and DIFFICULTY in page.text
    assert _flat(OUTREACH_VI) in _flat(page.text) and POST_REHAB_VI in page.text
    # Saving one part keeps the others (the autosave sends the whole form; a partial form
    # from an old page must not wipe what another device wrote).
    assert _write(other_device, recommendations="Đề nghị hỗ trợ kinh phí.").status_code == 303
    rows = run(ReportDraft.select())
    assert len(rows) == 1 and rows[0]["situation"] == SITUATION
    assert rows[0]["recommendations"] == "Đề nghị hỗ trợ kinh phí."
    # Dave's commune has its own (empty) draft; he cannot write A's.
    dave = as_user(world["dave"])
    assert SITUATION not in dave.get(f"/reports/document?{QUERY}").text
    assert _write(dave, area=str(world["A"]), situation="x").status_code == 404
    assert as_user(world["bob"]).get(f"/reports/document?{QUERY}").status_code == 403
    eve = as_user(world["eve"])  # the supervisor reads the commune's document, never writes it
    assert eve.get(f"/reports/document?area={world['A']}&{QUERY}").status_code == 404
    assert _write(eve, area=str(world["A"]), situation="x").status_code == 404
    assert SITUATION in eve.get(f"/reports/print?area={world['A']}&{QUERY}").text
    assert _write(eve, area=str(world["province"]), situation="Tỉnh").status_code == 303


def test_htmx_autosave_answers_a_fragment_and_refuses_too_long_text(world, moved, as_user):
    alice = as_user(world["alice"])
    r = alice.post("/reports/document", data=_form(situation=SITUATION),
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="draft-saved"' in r.text and "<html" not in r.text
    too_long = "x" * 20_001
    r = alice.post("/reports/document", data=_form(situation=too_long),
                   headers={"HX-Request": "true"})
    assert r.status_code == 422 and "20000" in r.text.replace(".", "").replace(",", "")
    r = _write(alice, situation=too_long, difficulties=DIFFICULTY)
    assert r.status_code == 422 and DIFFICULTY in r.text and too_long in r.text  # nothing lost
    assert run(ReportDraft.select(ReportDraft.situation).first())["situation"] == SITUATION


def test_sentences_follow_the_interface_language(world, moved, as_user):
    alice = as_user(world["alice"])
    alice.cookies.set("lang", "en")
    text = _flat(alice.get(f"/reports/document?{QUERY}").text)
    assert ("Organised 3 outreach sessions with 75 attendees, of whom 24 women, 15 under 30 "
            "and 0 students.") in text
    assert "1 dossier for compulsory rehab was prepared." in text  # singular
    assert "2 of 4 people after rehab were visited on schedule" in text  # plural


def test_print_page_is_the_document_without_full_names(world, moved, as_user):
    alice = as_user(world["alice"])
    _write(alice, situation=SITUATION, doc_number="15/BC-UBND", signer_name="Lê Văn Chủ")
    r = alice.get(f"/reports/print?{QUERY}")
    assert r.status_code == 200
    for line in (*HEADER, SITUATION, POST_REHAB_VI, "I. TÌNH HÌNH",
                 "III. KHÓ KHĂN, VƯỚNG MẮC VÀ NGUYÊN NHÂN"):
        assert line in r.text, line
    assert _flat(OUTREACH_VI) in _flat(r.text)
    for name in NAMES:
        assert name not in r.text, name
    assert re.search(r"<td>T-\d{4}</td>", r.text)  # the overdue list prints as codes
    screen = alice.get(f"/reports/view?{QUERY}")
    assert "Lương Thị Sen" in screen.text  # the official still sees names on screen


def _docx_text(content: bytes) -> str:
    from docx import Document

    d = Document(io.BytesIO(content))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.extend(p.text for p in cell.paragraphs)
    return "\n".join(parts)


def test_docx_opens_and_converts_to_pdf_with_header_figures_and_prose(world, moved, as_user,
                                                                      tmp_path):
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.fail("scripts/test installs libreoffice-writer and poppler-utils")
    alice = as_user(world["alice"])
    _write(alice, situation=SITUATION, difficulties=DIFFICULTY, doc_number="15/BC-UBND",
           signer_name="Lê Văn Chủ")
    r = alice.get(f"/reports/docx?{QUERY}")
    assert r.status_code == 200
    assert r.headers["content-type"] == ("application/vnd.openxmlformats-officedocument."
                                         "wordprocessingml.document")
    text = _docx_text(r.content)
    for line in (*HEADER, SITUATION, DIFFICULTY, POST_REHAB_VI, OUTREACH_VI):
        assert line in text, line
    for name in NAMES:
        assert name not in text, name
    source = tmp_path / "bao-cao.docx"
    source.write_bytes(r.content)
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{profile}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "bao-cao.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    pdf_text = _flat(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                                    capture_output=True, text=True).stdout)
    for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "UBND XÃ HOẰNG KIM", "15/BC-UBND", "BÁO CÁO", "Nơi nhận:", "Lê Văn Chủ",
                 "Tổ chức 3 buổi tuyên truyền với 75 lượt người tham dự",
                 "Tình hình an ninh trật tự ổn định", "Thiếu kinh phí hỗ trợ"):
        assert line in pdf_text, line
    # The XML is valid OOXML as far as Word's main part goes: one document part, well-formed.
    import zipfile
    from xml.dom import minidom

    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert "word/document.xml" in z.namelist() and "[Content_Types].xml" in z.namelist()
        minidom.parseString(z.read("word/document.xml"))


def test_finalising_freezes_prose_with_figures_and_compare_shows_both(world, moved, as_user):
    alice = as_user(world["alice"])
    _write(alice, situation=SITUATION)
    first = alice.post("/reports/finalise", data=_form(), follow_redirects=False)
    first_id = first.headers["location"].rsplit("/", 1)[1]
    _write(alice, situation="Tình hình đã thay đổi sau khi chốt.")
    frozen = alice.get(f"/reports/final/{first_id}/print")
    assert SITUATION in frozen.text and "đã thay đổi" not in frozen.text
    frozen_docx = _docx_text(alice.get(f"/reports/final/{first_id}/docx").content)
    assert SITUATION in frozen_docx and POST_REHAB_VI in frozen_docx
    second = alice.post("/reports/finalise", data=_form(), follow_redirects=False)
    second_id = second.headers["location"].rsplit("/", 1)[1]
    data = run(FinalReport.select(FinalReport.data).where(FinalReport.id == int(second_id))
               .first())["data"]
    assert "đã thay đổi" in str(data)
    cmp = alice.get(f"/reports/compare?a={first_id}&b={second_id}")
    assert cmp.status_code == 200
    row = re.search(r'data-field="situation">(.*?)</tr>', cmp.text, re.S)
    assert row and SITUATION in row.group(1) and "Tình hình đã thay đổi sau khi chốt." in \
        row.group(1)
    # A supervisor's DOCX of the commune's finalised version: numbers only, still the prose.
    eve_docx = _docx_text(as_user(world["eve"]).get(f"/reports/final/{first_id}/docx").content)
    assert SITUATION in eve_docx and not any(n in eve_docx for n in NAMES)
