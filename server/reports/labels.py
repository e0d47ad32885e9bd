"""Translated labels for the codes a report shows, and the names of its figures.

Every code's label is the contract's (`schema.enums.LABELS`, the register's through
`server.people.labels`), with a fallback to the raw code, so a new code shows up in a report
before it has a label. What is named here is the report's own: figures, organisations.
"""

from __future__ import annotations

import enum

from schema.enums import (
    Asker,
    Channel,
    CounselAction,
    CounselTopic,
    Methadone,
    RefOutcome,
    RefStatus,
    Service,
    Setting,
    State,
    Support,
    TalkFormat,
    Topic,
    TrainingTopic,
    label,
)
from server.i18n import N_, _
from server.people.labels import category_label, end_reason_label

# Codes older records carry for what the contract now names otherwise: they read with the
# contract's label of the code they became (labels themselves live only in schema/enums.py).
OLD_CODES = {"methadone_clinic": "methadone", "social_media": "social"}
KINDS = {"visit": N_("Visits"), "talk": N_("Talks"), "referral": N_("Referrals")}
# The organisations the plans assign tasks to, by the codes areas use (server/demo.py).
ORGANISATIONS = {
    "DTN": N_("Youth Union"), "LHPN": N_("Women's Union"), "CCB": N_("Veterans' Association"),
    "HND": N_("Farmers' Union"), "MTTQ": N_("Fatherland Front"), "CAX": N_("Commune police"),
    "TYT": N_("Health station"), "": N_("No organisation"),
}
ORG_COLUMNS = {"visits": N_("Visits"), "talks": N_("Talks"), "attendees": N_("Attendees"),
               "referrals": N_("Referrals")}
CHANGED = N_("Changed category")

# The name of every figure, by its path in the report data (used by the comparison and XLSX).
FIGURES = {
    "people.at_end": N_("People supported at period end"),
    "people.new": N_("New in the period"),
    "people.exited": N_("Left the register in the period"),
    "people.changed": N_("Category changes in the period"),
    "coverage.registered": N_("Registered people in the period"),
    "coverage.visited": N_("People with at least one approved visit"),
    "coverage.pending_only": N_("People whose only visits wait for review"),
    "coverage.post_rehab": N_("Post-rehab people"),
    "coverage.post_rehab_on_schedule": N_("Post-rehab people visited at the commune's frequency"),
    "referrals.total": N_("Referrals"),
    "referrals.by_service": N_("Referrals by service"),
    "referrals.by_status": N_("Referrals by outcome"),
    "referrals.completed": N_("Referrals completed"),
    "relapses.suspected_people": N_("People with suspected relapse"),
    "relapses.suspected_visits": N_("Visits noting suspected relapse"),
    "relapses.confirmed_people": N_("People with confirmed relapse"),
    "relapses.confirmed_visits": N_("Visits noting confirmed relapse"),
    "outreach.sessions": N_("Outreach sessions"),
    "outreach.by_setting": N_("Sessions by setting"),
    "outreach.by_format": N_("Sessions by format"),
    "outreach.attendees.total": N_("Attendees"),
    "outreach.attendees.women": N_("Attendees: women"),
    "outreach.attendees.under30": N_("Attendees: under 30"),
    "outreach.attendees.students": N_("Attendees: students"),
    "outreach.villages": N_("Villages"),
    "outreach.villages_reached": N_("Villages reached"),
    "outreach.hotspots": N_("Hot-spot villages"),
    "outreach.hotspots_reached": N_("Hot-spot villages with at least one session"),
    "people.arrived": N_("Transferred in from another commune"),
    "support.visits": N_("Visits with support given, by kind"),
    "support.people": N_("People given support, by kind"),
    "support.any_visits": N_("Visits with any support given"),
    "support.any_people": N_("People given any support"),
    "methadone.people": N_("People on methadone, by adherence"),
    "methadone.visits": N_("Visits noting methadone adherence"),
    "dossiers.visits": N_("Visits where a compulsory-rehab dossier was prepared"),
    "dossiers.people": N_("People with a compulsory-rehab dossier"),
    "materials.total": N_("Outreach materials distributed"),
    "materials.sessions": N_("Sessions distributing materials"),
    "materials.by_format": N_("Materials distributed, by kind of session"),
    "topics.sessions": N_("Sessions by topic"),
    "topics.attendees": N_("Attendees by topic"),
    "by_org": N_("By organisation"),
    "activity.visits": N_("Approved visits"),
    "activity.talks": N_("Approved talks"),
    "activity.referrals": N_("Approved referrals"),
    "activity.authors": N_("Volunteers with approved entries"),
    "pending.visit": N_("Visits waiting for review"),
    "pending.talk": N_("Talks waiting for review"),
    "pending.referral": N_("Referrals waiting for review"),
    "training.sessions": N_("Training sessions held"),
    "training.participants": N_("Training participants (places taken)"),
    "training.participants_staff": N_("Training participants: commune users"),
    "training.participants_other": N_("Training participants: others"),
    "training.staff_total": N_("Commune and village staff"),
    "training.staff_trained": N_("Commune and village staff trained"),
    "training.share_trained": N_("Share of staff trained (%)"),
    "training.target_pct": N_("Target share of staff trained (%)"),
    "training.target_met": N_("Training target met (1 = yes)"),
    "training.by_topic": N_("Training sessions by topic"),
    "training.by_organisation": N_("Training sessions by organiser"),
    "training.pending": N_("Training sessions waiting for review"),
    "counselling.contacts": N_("Counselling contacts"),
    "counselling.by_channel": N_("Counselling contacts by channel"),
    "counselling.by_asker": N_("Counselling contacts by who asked"),
    "counselling.anonymous": N_("Anonymous counselling contacts"),
    "counselling.by_topic": N_("Counselling contacts by topic"),
    "counselling.by_action": N_("Counselling contacts by action"),
    "counselling.referrals_made": N_("Counselling contacts that led to a referral"),
    "counselling.referrals_linked": N_("Counselling referrals linked to their record"),
    "counselling.referrals_completed": N_("Counselling referrals completed"),
    "counselling.follow_up_needed": N_("Counselling contacts needing follow-up"),
    "counselling.follow_up_open": N_("Counselling follow-ups still open at period end"),
    "counselling.pending": N_("Counselling contacts waiting for review"),
    "rates.coverage": N_("Coverage (%)"),
    "rates.post_rehab": N_("Post-rehab visited at frequency (%)"),
    "rates.referral_completion": N_("Referral completion rate (%)"),
    "rates.hotspots": N_("Hot-spot villages reached (%)"),
    "referral_attended": N_("Referrals attended"),
    "referral_median_days": N_("Median days from referral to attendance"),
}

COUNSELLING_ENUMS: dict[str, type[enum.Enum]] = {
    "counselling.by_channel": Channel, "counselling.by_asker": Asker,
    "counselling.by_topic": CounselTopic, "counselling.by_action": CounselAction}


def _pick(table: dict[str, str], code: str) -> str:
    return _(table[code]) if code in table else (code or "—")


def _coded(enum_cls: type[enum.Enum], code: str) -> str:
    """The contract's label of a code (an old spelling read as the code it became)."""
    return label(enum_cls, OLD_CODES.get(code, code)) if code else "—"


def _step(code: str) -> str:
    """A referral's last step: a status, or for a closed one its outcome."""
    return _coded(RefOutcome if code in RefOutcome.__members__ else RefStatus, code)


def code_label(group: str, code: str) -> str:
    """The label of a code inside a figure (a category, a reason, a service…)."""
    if group in ("people.at_end", "people.new"):
        return category_label(code) if code else "—"
    if group == "people.exited":
        return _(CHANGED) if code == "changed" else end_reason_label(code) if code else "—"
    if group == "referrals.by_service":
        return _coded(Service, code)
    if group == "referrals.by_status":
        return _step(code)
    if group == "outreach.by_setting":
        return _coded(Setting, code)
    if group in ("outreach.by_format", "materials.by_format"):
        return _coded(TalkFormat, code)
    if group in ("support.visits", "support.people"):
        return label(Support, code)
    if group in ("methadone.people", "methadone.visits"):
        return label(Methadone, code)
    if group in ("topics.sessions", "topics.attendees"):
        return label(Topic, code)
    if group == "by_org":
        return org_label(code)
    if group == "training.by_topic":
        return label(TrainingTopic, code)
    if group == "training.by_organisation":
        return code or _("Not named")
    if group in COUNSELLING_ENUMS:
        return label(COUNSELLING_ENUMS[group], code)
    return code


def org_label(code: str) -> str:
    return _pick(ORGANISATIONS, code) if code in ORGANISATIONS else (code or "—")


def figure_label(path: str) -> str:
    """`people.at_end.post_rehab` → "People supported at period end · Post-rehab management"."""
    if path in FIGURES:
        return _(FIGURES[path])
    if path.startswith("by_org."):
        _head, org, column = path.split(".", 2) if path.count(".") >= 2 else (path, "", "")
        return f"{_(FIGURES['by_org'])} · {org_label(org)} · {_pick(ORG_COLUMNS, column)}"
    group, _sep, code = path.rpartition(".")
    if group in FIGURES:
        return f"{_(FIGURES[group])} · {code_label(group, code)}"
    return path


def state_label(code: str) -> str:
    return label(State, code)
