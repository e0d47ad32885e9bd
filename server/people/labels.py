"""The register's vocabularies: categories with their default periods, end reasons, sexes —
English codes in the database, translated labels where shown — and name folding for search."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from server.i18n import N_, _

# Law 73/2021/QH14 and its decrees; high_risk is a project target group, not a legal category.
CATEGORIES: dict[str, str] = {
    "drug_user": N_("Drug user under management"),
    "voluntary": N_("Voluntary rehab at home or in the community"),
    "methadone": N_("Methadone / substitution treatment"),
    "post_rehab": N_("Post-rehab management"),
    "education": N_("Education at the commune"),
    "high_risk": N_("High risk"),
}
# Default planned period in months (None: open-ended). Officials may override per person.
DEFAULT_MONTHS: dict[str, int | None] = {
    "drug_user": 12, "voluntary": 12, "methadone": None, "post_rehab": 12, "education": 6,
    "high_risk": None,
}
POST_COMPULSORY_MONTHS = 24  # post-rehab after adult compulsory rehab

END_REASONS: dict[str, str] = {
    "completed": N_("Completed"),
    "relapsed": N_("Relapsed"),
    "moved": N_("Moved away"),
    "died": N_("Died"),
    "imprisoned": N_("Imprisoned"),
    "compulsory": N_("Sent to compulsory rehab"),
}
SEXES: dict[str, str] = {"male": N_("Male"), "female": N_("Female"), "other": N_("Other")}
STATUSES: dict[str, str] = {"active": N_("Active"), "ended": N_("Ended")}


def category_label(code: str) -> str:
    return _(CATEGORIES[code]) if code in CATEGORIES else code


def end_reason_label(code: str) -> str:
    return _(END_REASONS[code]) if code in END_REASONS else code


def sex_label(code: str) -> str:
    return _(SEXES[code]) if code in SEXES else code


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


def today() -> dt.date:
    """Today in Vietnam: dates are entered and reported in Asia/Ho_Chi_Minh."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
