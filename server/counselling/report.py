"""Counselling figures for the 6-month and annual reports (what they must show: "counselling
contacts by channel, topic and action, referrals made from them").

Indicator definitions — `counselling_figures(commune_ids, start, end)`, dates inclusive, in
Vietnam's time (the contact's date):

- `contacts` — approved counselling entries of those communes dated in the period.
- `by_channel` — contacts per channel code (hotline, zalo_phone, commune, home); every
  channel appears, with 0 when none.
- `by_asker` — contacts per who asked (person, family, community, school, anonymous);
  `anonymous` is also given on its own.
- `by_topic`, `by_action` — contacts per topic / per action code; a contact with two topics
  (or actions) counts under each, so these may add up to more than `contacts`.
- `referrals_made` — contacts whose actions include a referral to a service;
  `referrals_linked` — of those contacts, how many name the referral record they made;
  `referrals_completed` — linked referrals closed as completed (from the referral's own,
  reviewed, follow-up).
- `follow_up_needed` — contacts that asked for follow-up; `follow_up_open` — of those, how
  many were not closed by the end of the period.
- `pending` — counselling entries of the period not yet approved (submitted or returned),
  shown apart; rejected ones are not counted anywhere.

Numbers only: no names, no persons, no caller details (an anonymous caller has none).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Count

from schema.enums import Asker, Channel, CounselAction, CounselTopic, label
from server.parse import json_codes
from server.records.tables import Entry


async def counselling_figures(commune_ids: list[int], start: dt.date,
                              end: dt.date) -> dict[str, Any]:
    """The figures of the communes together."""
    ids = list(commune_ids) or [0]
    rows, pending = await _read(ids, start, end)
    return _figures([r for cid in ids for r in rows[cid]], sum(pending.values()), end,
                    await _completed(rows))


async def counselling_figures_by_commune(commune_ids: list[int], start: dt.date,
                                         end: dt.date) -> dict[int, dict[str, Any]]:
    """Each commune's own figures, read for all the communes at once (three statements, not
    three per commune: a province report has a hundred communes)."""
    rows, pending = await _read(list(commune_ids), start, end)
    completed = await _completed(rows)
    return {cid: _figures(rows[cid], pending[cid], end, completed)
            for cid in commune_ids}


async def _read(ids: list[int], start: dt.date, end: dt.date
                ) -> tuple[dict[int, list[dict[str, Any]]], dict[int, int]]:
    """Per commune: its approved contacts of the period, and how many are pending."""
    rows: dict[int, list[dict[str, Any]]] = {cid: [] for cid in ids}
    pending = dict.fromkeys(ids, 0)
    if not ids:
        return rows, pending
    # Written out, not built with the query builder: its joined columns
    # (`CounsellingContact.entry.commune`) cost ~3 ms of Python per report, more than the
    # statement. The entry's kind too: the report index serves it.
    marks = ", ".join("{}" for _ in ids)
    for r in await Entry.raw(
            "SELECT e.commune AS commune, c.channel AS channel, c.asker AS asker, "
            "c.topics AS topics, c.actions AS actions, c.referral AS referral, "
            "c.follow_up AS follow_up, c.follow_up_closed_on AS follow_up_closed_on "
            "FROM counselling_contact c JOIN entry e ON e.id = c.entry "
            f"WHERE e.commune IN ({marks}) AND e.kind = 'counselling' "
            "AND e.entry_date >= {} AND e.entry_date <= {} AND e.state = 'approved'",
            *ids, start, end):
        rows[int(r["commune"])].append(r)
    for r in await Entry.select(Entry.commune, Count().as_alias("n")).where(
        Entry.commune.is_in(ids) & (Entry.kind == "counselling") & (Entry.entry_date >= start)
        & (Entry.entry_date <= end) & Entry.state.is_in(["submitted", "returned"])
    ).group_by(Entry.commune):
        pending[int(r["commune"])] = int(r["n"])
    return rows, pending


def _linked(rows: list[dict[str, Any]]) -> list[Any]:
    """The referrals that contacts recording a referral name."""
    return [r["referral"] for r in rows if r["referral"] is not None
            and "referral" in set(json_codes(r["actions"]))]


async def _completed(rows: dict[int, list[dict[str, Any]]]) -> set[Any]:
    """Which of the linked referrals are closed as completed."""
    linked = [ref for part in rows.values() for ref in _linked(part)]
    if not linked:
        return set()
    return {r["id"] for r in await Entry.select(Entry.id).where(
        Entry.id.is_in(linked) & (Entry.kind == "referral") & (Entry.ref_status == "closed")
        & (Entry.ref_outcome == "completed"))}


def _figures(rows: list[dict[str, Any]], pending: int, end: dt.date,
             completed_ids: set[Any]) -> dict[str, Any]:
    by_channel = {c.value: 0 for c in Channel}
    by_asker = {a.value: 0 for a in Asker}
    by_topic = {t.value: 0 for t in CounselTopic}
    by_action = {a.value: 0 for a in CounselAction}
    made = needed = still_open = 0
    for r in rows:
        by_channel[r["channel"]] = by_channel.get(r["channel"], 0) + 1
        by_asker[r["asker"]] = by_asker.get(r["asker"], 0) + 1
        for code in set(json_codes(r["topics"])):
            by_topic[code] = by_topic.get(code, 0) + 1
        actions = set(json_codes(r["actions"]))
        for code in actions:
            by_action[code] = by_action.get(code, 0) + 1
        if "referral" in actions:
            made += 1
        if r["follow_up"]:
            needed += 1
            closed = r["follow_up_closed_on"]
            if closed is None or closed > end:
                still_open += 1
    linked = _linked(rows)
    completed = len(set(linked) & completed_ids)
    return {
        "contacts": len(rows),
        "by_channel": by_channel,
        "by_asker": by_asker,
        "anonymous": by_asker.get("anonymous", 0),
        "by_topic": by_topic,
        "by_action": by_action,
        "referrals_made": made,
        "referrals_linked": len(linked),
        "referrals_completed": completed,
        "follow_up_needed": needed,
        "follow_up_open": still_open,
        "pending": pending,
    }


def counselling_report_context(figures: dict[str, Any]) -> dict[str, Any]:
    """What `counselling/_report.html` renders: the figures and the translated labels of their
    codes (labels are not part of a finalised snapshot; the figures are)."""
    enums = {"by_channel": Channel, "by_asker": Asker, "by_topic": CounselTopic,
             "by_action": CounselAction}
    return {"counselling": figures,
            "counselling_labels": {key: {code: label(cls, code)
                                         for code in figures.get(key, {})}
                                   for key, cls in enums.items()}}
