"""The report's figures written into sentences, task by task of the plan — what officials
used to type by hand ("Tổ chức 12 buổi tuyên truyền với 640 lượt người tham dự, trong đó 310
nữ…"). Generated in the reader's language through gettext with plural forms, from the same
report dict the tables show (live, or frozen in a finalised version).

`results(report)` → [(heading, [sentence, …]), …]; `situation(report)` → [sentence, …].
Training and counselling contacts are counted by server/training/ and server/counselling/;
their tasks close `results`, from their own keys of report["totals"] (`training`,
`counselling`).
"""

from __future__ import annotations

from typing import Any

from server import fmt
from server.i18n import _, ngettext
from server.reports.labels import code_label, org_label


def _pct(value: float | None) -> str:
    """A percentage in the sentence's language, as few digits as it needs: "66,7%" and "80%"
    in vi, "66.7%" in en (server.fmt, the one formatting place)."""
    return "—" if value is None else f"{fmt.number(value)}%"


def _list(group: str, counter: dict[str, int], unit: tuple[str, str] | None = None) -> str:
    """"counselling 2, legal advice 1" in descending order (units plural-aware)."""
    parts = []
    for code, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        label = code_label(group, code)
        if unit:
            parts.append(f"{label}: {ngettext(unit[0], unit[1], n) % {'num': n}}")
        else:
            parts.append(f"{label}: {n}")
    return "; ".join(parts)


def situation(report: dict[str, Any]) -> list[str]:
    t = report["totals"]
    people = t["people"]
    at_end = sum(people["at_end"].values())
    out = [ngettext("At the end of the period %(num)s person is supported",
                    "At the end of the period %(num)s people are supported", at_end)
           % {"num": at_end}
           + (f" ({_list('people.at_end', people['at_end'])})." if at_end else ".")]
    new, left = sum(people["new"].values()), sum(people["exited"].values())
    out.append(ngettext(
        "In the period %(num)s person was newly registered, %(left)s left the register and "
        "%(arrived)s moved in from another commune.",
        "In the period %(num)s people were newly registered, %(left)s left the register and "
        "%(arrived)s moved in from another commune.", new)
        % {"num": new, "left": left, "arrived": people.get("arrived", 0)})
    relapses = t["relapses"]
    out.append(_("Visits noted suspected drug use for %(suspected)s and a confirmed relapse "
                 "for %(confirmed)s of them.")
               % {"suspected": ngettext("%(num)s person", "%(num)s people",
                                        relapses["suspected_people"])
                  % {"num": relapses["suspected_people"]},
                  "confirmed": relapses["confirmed_people"]})
    return out


def results(report: dict[str, Any]) -> list[tuple[str, list[str]]]:
    t, r = report["totals"], report["rates"]
    cov = t["coverage"]
    sections: list[tuple[str, list[str]]] = []

    management = [
        ngettext("%(visited)s of %(num)s registered person had at least one approved visit "
                 "(%(rate)s; targets: over 80%% in the district plan, 100%% in the commune "
                 "plan).",
                 "%(visited)s of %(num)s registered people had at least one approved visit "
                 "(%(rate)s; targets: over 80%% in the district plan, 100%% in the commune "
                 "plan).", cov["registered"])
        % {"visited": cov["visited"], "num": cov["registered"], "rate": _pct(r["coverage"])},
        ngettext("%(on)s of %(num)s person after rehab was visited on schedule in every "
                 "period of management (%(rate)s; target 100%%).",
                 "%(on)s of %(num)s people after rehab were visited on schedule in every "
                 "period of management (%(rate)s; target 100%%).", cov["post_rehab"])
        % {"on": cov["post_rehab_on_schedule"], "num": cov["post_rehab"],
           "rate": _pct(r["post_rehab"])},
    ]
    sections.append((_("Management and support of people after rehab"), management))

    sup, meth, dos = t["support"], t["methadone"], t["dossiers"]
    support = [ngettext("Supporters gave support during %(num)s visit to %(people)s people.",
                        "Supporters gave support during %(num)s visits to %(people)s people.",
                        sup["any_visits"])
               % {"num": sup["any_visits"], "people": sup["any_people"]}]
    if sup["visits"]:
        support.append(_("By kind of support: %(list)s.")
                       % {"list": _list("support.visits", sup["visits"],
                                        ("%(num)s visit", "%(num)s visits"))})
    on_methadone = sum(meth["people"].values())
    support.append(ngettext(
        "Of %(num)s person on methadone, %(adherent)s took every dose, %(missed)s missed "
        "doses and %(stopped)s stopped treatment.",
        "Of %(num)s people on methadone, %(adherent)s took every dose, %(missed)s missed "
        "doses and %(stopped)s stopped treatment.", on_methadone)
        % {"num": on_methadone, "adherent": meth["people"].get("adherent", 0),
           "missed": meth["people"].get("missed", 0),
           "stopped": meth["people"].get("stopped", 0)})
    support.append(ngettext("%(num)s dossier for compulsory rehab was prepared.",
                            "%(num)s dossiers for compulsory rehab were prepared.",
                            dos["people"]) % {"num": dos["people"]})
    sections.append((_("Counselling and support during visits"), support))

    ref = t["referrals"]
    referrals = [ngettext("%(num)s referral was made to services, %(done)s completed "
                          "(%(rate)s).",
                          "%(num)s referrals were made to services, %(done)s completed "
                          "(%(rate)s).", ref["total"])
                 % {"num": ref["total"], "done": ref["completed"],
                    "rate": _pct(r["referral_completion"])}]
    if ref["by_service"]:
        referrals.append(_("By service: %(list)s.")
                         % {"list": _list("referrals.by_service", ref["by_service"])})
    sections.append((_("Referral to services"), referrals))

    out, att, mat = t["outreach"], t["outreach"]["attendees"], t["materials"]
    outreach = [
        ngettext("Organised %(num)s outreach session with %(total)s attendees, of whom "
                 "%(women)s women, %(under30)s under 30 and %(students)s students.",
                 "Organised %(num)s outreach sessions with %(total)s attendees, of whom "
                 "%(women)s women, %(under30)s under 30 and %(students)s students.",
                 out["sessions"])
        % {"num": out["sessions"], "total": att["total"], "women": att["women"],
           "under30": att["under30"], "students": att["students"]},
        ngettext("Sessions reached %(reached)s of %(num)s village and %(hot)s of %(hots)s "
                 "hot-spot villages (%(rate)s; target 100%%).",
                 "Sessions reached %(reached)s of %(num)s villages and %(hot)s of %(hots)s "
                 "hot-spot villages (%(rate)s; target 100%%).", out["villages"])
        % {"reached": out["villages_reached"], "num": out["villages"],
           "hot": out["hotspots_reached"], "hots": out["hotspots"], "rate": _pct(r["hotspots"])},
        ngettext("%(num)s leaflet, poster or other material was distributed in %(sessions)s "
                 "sessions.",
                 "%(num)s leaflets, posters and other materials were distributed in "
                 "%(sessions)s sessions.", mat["total"])
        % {"num": mat["total"], "sessions": mat["sessions"]},
    ]
    if t["topics"]["sessions"]:
        outreach.append(_("Topics covered: %(list)s.")
                        % {"list": _list("topics.sessions", t["topics"]["sessions"],
                                         ("%(num)s session", "%(num)s sessions"))})
    sections.append((_("Outreach and prevention"), outreach))

    orgs = []
    for code, o in sorted(t["by_org"].items(), key=lambda kv: kv[0] == ""):
        orgs.append(_("%(org)s: %(visits)s, %(talks)s (%(attendees)s attendees), "
                      "%(referrals)s.")
                    % {"org": org_label(code),
                       "visits": ngettext("%(num)s visit", "%(num)s visits", o["visits"])
                       % {"num": o["visits"]},
                       "talks": ngettext("%(num)s session", "%(num)s sessions", o["talks"])
                       % {"num": o["talks"]},
                       "attendees": o["attendees"],
                       "referrals": ngettext("%(num)s referral", "%(num)s referrals",
                                             o["referrals"]) % {"num": o["referrals"]}})
    if orgs:
        sections.append((_("Work of the organisations"), orgs))
    sections.append((_("Training of commune and village staff"), _training(t["training"])))
    sections.append((_("Counselling contacts"), _counselling(t["counselling"])))
    return sections


def _nonzero(counter: dict[str, int]) -> dict[str, int]:
    return {code: n for code, n in counter.items() if n}


def _training(tr: dict[str, Any]) -> list[str]:
    """"Tổ chức 3 buổi tập huấn với 24 lượt người tham dự; 12/15 cán bộ … (80%…)"."""
    out = [ngettext("Organised %(num)s training session with %(participants)s participants; "
                    "%(trained)s of %(staff)s commune and village staff were trained "
                    "(%(rate)s; target over %(target)s%%).",
                    "Organised %(num)s training sessions with %(participants)s participants; "
                    "%(trained)s of %(staff)s commune and village staff were trained "
                    "(%(rate)s; target over %(target)s%%).", tr["sessions"])
           % {"num": tr["sessions"], "participants": tr["participants"],
              "trained": tr["staff_trained"], "staff": tr["staff_total"],
              "rate": _pct(tr["share_trained"]), "target": tr["target_pct"]}]
    if _nonzero(tr["by_topic"]):
        out.append(_("Training topics: %(list)s.")
                   % {"list": _list("training.by_topic", _nonzero(tr["by_topic"]),
                                    ("%(num)s session", "%(num)s sessions"))})
    return out


def _counselling(co: dict[str, Any]) -> list[str]:
    out = [ngettext("%(num)s counselling contact was answered.",
                    "%(num)s counselling contacts were answered.", co["contacts"])
           % {"num": co["contacts"]}]
    for key, text in (("by_channel", _("By channel: %(list)s.")),
                      ("by_asker", _("Who asked: %(list)s.")),
                      ("by_topic", _("By topic: %(list)s.")),
                      ("by_action", _("What was done: %(list)s."))):
        if _nonzero(co[key]):
            out.append(text % {"list": _list(f"counselling.{key}", _nonzero(co[key]))})
    out.append(ngettext("%(num)s contact led to a referral to a service, %(done)s of them "
                        "completed; %(follow)s needed follow-up, %(open)s still open at the "
                        "end of the period.",
                        "%(num)s contacts led to a referral to a service, %(done)s of them "
                        "completed; %(follow)s needed follow-up, %(open)s still open at the "
                        "end of the period.", co["referrals_made"])
               % {"num": co["referrals_made"], "done": co["referrals_completed"],
                  "follow": co["follow_up_needed"], "open": co["follow_up_open"]})
    return out
