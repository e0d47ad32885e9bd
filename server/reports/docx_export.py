"""The report document as DOCX (python-docx): A4, Times New Roman, the Decree 30/2020 layout
in two borderless tables (header; recipients and signer) around the body, so that officials
edit, sign and stamp it in Word or LibreOffice. It holds no person's name: the overdue list
stays on screen."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from server.i18n import _

FONT = "Times New Roman"


def _run(paragraph: Any, text: str, *, bold: bool = False, italic: bool = False,
         size: float | None = None) -> None:
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)


def _para(cell_or_doc: Any, text: str = "", *, align: Any = None, bold: bool = False,
          italic: bool = False, size: float | None = None, first: bool = False,
          indent: bool = False) -> Any:
    p = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
    if text:
        _run(p, text, bold=bold, italic=italic, size=size)
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(3)
    if indent:
        fmt.first_line_indent = Mm(10)
    return p


def _widths(table: Any, *widths: Any) -> None:
    """Fixed column widths (Word and LibreOffice read them from the cells, not the grid)."""
    table.autofit = False
    for i, width in enumerate(widths):
        table.columns[i].width = width
        for cell in table.columns[i].cells:
            cell.width = width


def _no_borders(table: Any) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


def document_bytes(doc: dict[str, Any], *, period_label: str, version: int | None) -> bytes:
    d = Document()
    section = d.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = d.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    center = WD_ALIGN_PARAGRAPH.CENTER

    head = d.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(head)
    _widths(head, Mm(62), Mm(103))
    left, right = head.rows[0].cells
    _para(left, doc["issuer"], align=center, bold=True, size=12, first=True)
    _para(left, "———", align=center, size=10)
    _para(left, doc["number"], align=center, size=12)
    _para(right, doc["nation"], align=center, bold=True, size=12, first=True)
    _para(right, doc["motto"], align=center, bold=True, size=13)
    _para(right, "—————————", align=center, size=10)
    _para(right, doc["place_date"], align=center, italic=True, size=13)

    _para(d, doc["title"], align=center, bold=True, size=15)
    _para(d, doc["subtitle"], align=center, bold=True)
    _para(d, period_label, align=center, bold=True)
    if version:
        _para(d, _("Finalised report, version %(n)s") % {"n": version}, align=center,
              italic=True, size=12)

    for part in doc["body"]:
        _para(d, part["heading"], bold=True)
        for line in part["sentences"]:
            _para(d, line, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        for task in part["tasks"]:
            _para(d, task["heading"], bold=True, italic=True)
            for line in task["sentences"]:
                _para(d, line, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        for line in part["prose"]:
            _para(d, line, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    sign = d.add_table(rows=1, cols=2)
    _no_borders(sign)
    _widths(sign, Mm(80), Mm(85))
    left, right = sign.rows[0].cells
    _para(left, doc["recipients_heading"], bold=True, italic=True, size=12, first=True)
    for line in doc["recipients"]:
        _para(left, line, size=11)
    first = True
    for line in doc["signer"]:
        _para(right, line, align=center, bold=True, first=first)
        first = False
    _para(right, "(Ký, ghi rõ họ tên, đóng dấu)", align=center, italic=True, size=12)
    for _blank in range(4):
        _para(right, "")
    if doc["signer_name"]:
        _para(right, doc["signer_name"], align=center, bold=True)

    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
