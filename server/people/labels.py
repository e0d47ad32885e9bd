"""The register's vocabularies: categories with their default periods, end reasons, sexes —
English codes in the database, their labels from the contract (`schema.enums`) translated where
shown — and name folding for search."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from schema.enums import LABELS, Category, EndReason, Sex, label

# The labels are the contract's (`schema.enums.LABELS`): one label per code across the app.
CATEGORIES: dict[str, str] = LABELS[Category]
END_REASONS: dict[str, str] = LABELS[EndReason]
SEXES: dict[str, str] = LABELS[Sex]
# Default planned period in months (None: open-ended). Officials may override per person.
DEFAULT_MONTHS: dict[str, int | None] = {
    "drug_user": 12, "voluntary": 12, "methadone": None, "post_rehab": 12, "education": 6,
    "high_risk": None,
}
POST_COMPULSORY_MONTHS = 24  # post-rehab after adult compulsory rehab



def category_label(code: str) -> str:
    return label(Category, code)


def end_reason_label(code: str) -> str:
    return label(EndReason, code)


def sex_label(code: str) -> str:
    return label(Sex, code)


def fold(text: str) -> str:
    """Lower-case, without Vietnamese diacritics, single-spaced: what search compares."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", bare).strip().lower()


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - some day of every month exists


def default_planned_end(category: str, start: dt.date, after_compulsory: bool = False) -> \
        dt.date | None:
    months = DEFAULT_MONTHS.get(category)
    if category == "post_rehab" and after_compulsory:
        months = POST_COMPULSORY_MONTHS
    return add_months(start, months) if months else None

