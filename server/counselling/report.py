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

from schema.enums import Asker, Channel, CounselAction, CounselTopic, label
from server.counselling.tables import CounsellingContact
from server.parse import json_codes
from server.records.tables import Entry


async def counselling_figures(commune_ids: list[int], start: dt.date,
                              end: dt.date) -> dict[str, Any]:
    ids = list(commune_ids) or [0]
    rows = await CounsellingContact.select(
        CounsellingContact.channel, CounsellingContact.asker, CounsellingContact.topics,
        CounsellingContact.actions, CounsellingContact.referral, CounsellingContact.follow_up,
        CounsellingContact.follow_up_closed_on,
    ).where(CounsellingContact.entry.commune.is_in(ids)
            & (CounsellingContact.entry.kind == "counselling")  # the report index serves it
            & (CounsellingContact.entry.entry_date >= start)
            & (CounsellingContact.entry.entry_date <= end)
            & (CounsellingContact.entry.state == "approved"))
    pending = await Entry.count().where(
        Entry.commune.is_in(ids) & (Entry.kind == "counselling") & (Entry.entry_date >= start)
        & (Entry.entry_date <= end) & Entry.state.is_in(["submitted", "returned"]))

    by_channel = {c.value: 0 for c in Channel}
    by_asker = {a.value: 0 for a in Asker}
    by_topic = {t.value: 0 for t in CounselTopic}
    by_action = {a.value: 0 for a in CounselAction}
    made = 0
    linked: list[Any] = []
    needed = still_open = 0
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
            if r["referral"] is not None:
                linked.append(r["referral"])
        if r["follow_up"]:
            needed += 1
            closed = r["follow_up_closed_on"]
            if closed is None or closed > end:
                still_open += 1
    completed = await Entry.count().where(
        Entry.id.is_in(linked) & (Entry.kind == "referral") & (Entry.ref_status == "closed")
        & (Entry.ref_outcome == "completed")) if linked else 0
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
