"""Importing a commune's existing list (XLSX or CSV) and exporting the register to XLSX.

The import is two steps: the upload is parsed into plain text rows and every row's problems are
shown (nothing is written); the confirmation sends the same rows back, they are checked again,
and all of them are written in one transaction — or none when any row still has a problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook

from server import i18n
from server.i18n import _
from server.people.forms import check_phone, check_year, parse_date
from server.people.labels import (
    CATEGORIES,
    SEXES,
    category_label,
    default_planned_end,
    fold,
    sex_label,
)
from server.people.queries import find_duplicates
from server.vntime import today

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
COLUMNS = ("full_name", "birth_year", "sex", "village", "category", "start_date", "phone",
           "address")
# Folded header texts officials use, in Vietnamese and English.
HEADERS = {
    "full_name": ("ho va ten", "ho ten", "ten", "full name", "name"),
    "birth_year": ("nam sinh", "birth year", "year of birth", "year"),
    "sex": ("gioi tinh", "gioi", "sex", "gender"),
    "village": ("thon", "thon/lang", "thon/xom", "thon, lang", "lang", "dia ban", "village"),
    "category": ("dien", "dien quan ly", "loai", "phan loai", "category"),
    "start_date": ("ngay bat dau", "tu ngay", "bat dau", "start date", "start"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "phone"),
    "address": ("dia chi", "address"),
}
# Words officials write for a value, besides our codes and the labels in every locale (which
# `_choices` adds): compared after `_words` (case, diacritics and punctuation ignored).
SEX_WORDS = {"m": "male", "nam gioi": "male", "f": "female", "nu gioi": "female",
             "gai": "female", "trai": "male"}
CATEGORY_WORDS = {"su dung": "drug_user", "nguoi su dung": "drug_user",
                  "su dung ma tuy": "drug_user", "nguoi su dung ma tuy": "drug_user",
                  "nghien": "drug_user", "nguoi nghien": "drug_user",
                  "nghien ma tuy": "drug_user", "nguoi nghien ma tuy": "drug_user",
                  "tu nguyen": "voluntary", "cai tu nguyen": "voluntary",
                  "cai nghien tu nguyen": "voluntary", "cai tai gia dinh": "voluntary",
                  "cai nghien tai gia dinh": "voluntary",
                  "cai nghien tai cong dong": "voluntary", "methadone": "methadone",
                  "metadone": "methadone", "dieu tri methadone": "methadone",
                  "dieu tri thay the": "methadone", "sau cai": "post_rehab",
                  "sau cai nghien": "post_rehab", "quan ly sau cai": "post_rehab",
                  "post rehab": "post_rehab", "giao duc": "education",
                  "giao duc tai xa": "education", "nguy co cao": "high_risk",
                  "nguy co": "high_risk"}


def _words(text: str) -> str:
    """What two spellings of a value have in common: folded, punctuation as spaces."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).replace("_", " ").split())


def _choices(labels: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """Every accepted spelling → code: the code, its label in each locale, the extra words."""
    table = {_words(k): v for k, v in extra.items()}
    for code, label in labels.items():
        table[_words(code)] = code
        for lang in i18n.LOCALES:
            table[_words(i18n.catalog(lang).gettext(label))] = code
    return table


def _accepted(labels: dict[str, str]) -> str:
    """The accepted values in the reader's language, for a refusal message."""
    return ", ".join(f"“{_(label)}”" for label in labels.values())


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message is shown."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _table(filename: str, content: bytes) -> list[list[str]]:
    if len(content) > MAX_BYTES:
        raise ImportFileError(_("The file is larger than 5 MB."))
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _xlsx_table(content)
    if name.endswith(".csv"):
        return _csv_table(content)
    raise ImportFileError(_("Upload an Excel (.xlsx) or CSV file."))


# A real register is a few thousand lines of a dozen columns. The bounds are what a file may
# *claim* (its dimension, its row numbers, its inflated size), so a broken or hostile file is
# refused with a message instead of being walked for minutes.
MAX_LINES = 4 * MAX_ROWS
MAX_COLUMNS = 60
MAX_INFLATED = 100 * 1024 * 1024


def _too_many_lines() -> ImportFileError:
    return ImportFileError(_("The sheet has more than %(n)s lines (empty lines included). "
                             "Remove the empty lines and upload it again.") % {"n": MAX_LINES})


def _xlsx_table(content: bytes) -> list[list[str]]:

    unreadable = ImportFileError(_("This file cannot be read as an Excel (.xlsx) file. Open it "
                                   "in Excel, save it as .xlsx and upload it again."))
    try:
        inflated = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(content)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise unreadable from exc
    if inflated > MAX_INFLATED:
        raise ImportFileError(_("This file unpacks to more than 100 MB: it is not a register."))
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise unreadable from exc
    try:
        if not book.worksheets:
            raise ImportFileError(_("The file has no sheet."))
        sheet = book.worksheets[0]
        # The declared dimension is the file's word, not its content: never pad rows to it.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        rows: list[list[str]] = []
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            if len(rows) >= MAX_LINES:
                raise _too_many_lines()
            rows.append([_cell(c) for c in row])
        return rows
    except ImportFileError:
        raise
    except Exception as exc:  # a cell reference out of range, a date cell that is no date…
        raise ImportFileError(_("A cell of this file cannot be read (a date that is not a date, "
                                "or a cell outside the sheet). Open it in Excel, save it as "
                                ".xlsx and upload it again.")) from exc
    finally:
        book.close()


def _csv_table(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("Save the CSV file as UTF-8 and upload it again.")) from exc
    first = text.split("\n", 1)[0]
    dialect = ";" if first.count(";") > first.count(",") else ","
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=dialect):
            if len(rows) >= MAX_LINES:
                raise _too_many_lines()
            rows.append([_cell(c) for c in row[:MAX_COLUMNS]])
    except csv.Error as exc:  # a field past the csv module's limit, a stray NUL…
        raise ImportFileError(_("The CSV file cannot be read: a cell is longer than %(n)s "
                                "characters or holds a character CSV does not allow.")
                              % {"n": csv.field_size_limit()}) from exc
    return rows


def read_rows(filename: str, content: bytes) -> list[dict[str, str]]:
    """The file's rows as text keyed by our column names; the first row with a name column
    is the header."""
    table = _table(filename, content)
    found = [(h, {i: key for i, text in enumerate(header) for key, words in HEADERS.items()
                  if fold(text).rstrip(":") in words}) for h, header in enumerate(table[:10])]
    found = [(h, names) for h, names in found if "full_name" in names.values()]
    if not found:
        raise ImportFileError(_("No header row with a “Họ và tên” (full name) column was "
                                "found in the first ten rows."))
    h, names = found[0]
    rows: list[dict[str, str]] = []
    for line in table[h + 1:]:
        if not any(c.strip() for c in line):
            continue
        rows.append({key: (line[i] if i < len(line) else "") for i, key in names.items()})
        if len(rows) > MAX_ROWS:
            raise ImportFileError(_("At most 5000 rows can be imported at once."))
    if not rows:
        raise ImportFileError(_("The file has no rows under its header."))
    return [{c: r.get(c, "") for c in COLUMNS} for r in rows]


@functools.cache
def _tables() -> dict[str, dict[str, str]]:
    # Built once (the catalogs do not change while the server runs), not for each of 5,000 rows.
    return {"category": _choices(CATEGORIES, CATEGORY_WORDS), "sex": _choices(SEXES, SEX_WORDS)}


def _category_code(text: str) -> str | None:
    return _tables()["category"].get(_words(text))


def _sex_code(text: str) -> str | None:
    return _tables()["sex"].get(_words(text))


def _village_id(text: str, villages: dict[int, str]) -> int | None:
    folded = fold(text)
    if not folded:
        return None
    exact = [vid for vid, name in villages.items() if fold(name) == folded]
    if exact:
        return exact[0]
    bare = [vid for vid, name in villages.items()
            if fold(name).removeprefix("thon ").removeprefix("lang ") ==
            folded.removeprefix("thon ").removeprefix("lang ")]
    return bare[0] if len(bare) == 1 else None


async def check_rows(commune_id: int, rows: list[dict[str, str]],
                     villages: dict[int, str]) -> list[dict[str, Any]]:
    """Each row with its problems (a list of messages) and, when it has none, what to write."""
    checked: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], int] = {}
    for n, raw in enumerate(rows, 1):
        problems: list[str] = []
        name = " ".join(raw.get("full_name", "").split())
        if not name:
            problems.append(_("The full name is missing."))
        elif len(name) > 120:
            problems.append(_("The name is longer than 120 characters."))
        year, year_error = check_year(raw.get("birth_year", ""))
        if year_error:
            problems.append(year_error)
        sex = _sex_code(raw.get("sex", ""))
        if sex is None:
            problems.append(_("Unknown sex: “%(v)s”. Write one of: %(ok)s.")
                            % {"v": raw.get("sex", ""), "ok": _accepted(SEXES)})
        village = _village_id(raw.get("village", ""), villages)
        if village is None:
            problems.append(_("Unknown village: “%(v)s”. The commune's villages: %(ok)s.")
                            % {"v": raw.get("village", ""),
                               "ok": ", ".join(f"“{n}”" for n in sorted(villages.values()))})
        category = _category_code(raw.get("category", ""))
        if category is None:
            problems.append(_("Unknown category: “%(c)s”. Write one of: %(ok)s.")
                            % {"c": raw.get("category", ""), "ok": _accepted(CATEGORIES)})
        start: dt.date | None = today()
        if raw.get("start_date", "").strip():
            start = parse_date(raw["start_date"])
            if start is None or start > today():
                problems.append(_("The start date is not a valid past date."))
        phone_error = check_phone(raw.get("phone", ""))
        if phone_error:
            problems.append(phone_error)
        key = (fold(name), year or 0)
        if name and year and key in seen:
            problems.append(_("Same name and year of birth as row %(n)s.") % {"n": seen[key]})
        seen.setdefault(key, n)
        item: dict[str, Any] = {"n": n, "raw": raw, "problems": problems, "key": key,
                                "sex_label": sex_label(sex) if sex else "",
                                "category_label": category_label(category) if category else "",
                                "village_name": villages.get(village or 0, "")}
        if not problems and category and start:
            item["write"] = {
                "fields": {"full_name": name, "birth_year": year, "sex": sex,
                           "village": village, "phone": raw.get("phone", "").strip(),
                           "address": raw.get("address", "").strip()[:200], "notes": ""},
                "category": category, "start": start,
                "planned_end": default_planned_end(category, start)}
        checked.append(item)
    existing = await find_duplicates(commune_id, [i["key"] for i in checked if i["key"][1]])
    for item in checked:
        code = existing.get(item["key"])
        if code:
            item["problems"].append(
                _("Likely already in the register as %(code)s (same name and year of birth).")
                % {"code": code})
            item.pop("write", None)
    return checked


def export_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "register"
    sheet.append([_("Code"), _("Full name"), _("Year of birth"), _("Sex"), _("Village"),
                  _("Category"), _("Status"), _("Phone"), _("Primary supporter"),
                  _("Last visit"), _("Next visit due")])
    for r in rows:
        sheet.append([r["code"], r["full_name"], r["birth_year"], sex_label(r["sex"]),
                      r["village_name"] or "", r["category_label"],
                      _("Active") if r["status"] == "active" else _("Ended"), r["phone"] or "",
                      r["primary_name"] or "", r["last_visit"], r["next_due"]])
    for col, width in zip("ABCDEFGHIJK", (10, 28, 8, 8, 18, 30, 10, 14, 24, 12, 12),
                          strict=True):
        sheet.column_dimensions[col].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
