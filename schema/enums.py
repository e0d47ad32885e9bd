"""The record vocabularies: codes in the database and the API, English labels (msgids)
translated where shown.

Each choice set is a `StrEnum` (msgspec validates and documents it) plus a label table in
`LABELS`; `label(Enum, code)` gives the translated label, `choices(Enum)` the pairs a form shows.
"""

from __future__ import annotations

import enum

from schema.text import N_, translated


class VisitKind(enum.StrEnum):
    home = "home"
    phone = "phone"
    commune = "commune"


class NotMetReason(enum.StrEnum):
    not_home = "not_home"
    refused = "refused"
    moved = "moved"


class DrugSigns(enum.StrEnum):
    none = "none"
    suspected = "suspected"
    confirmed = "confirmed"


class Methadone(enum.StrEnum):
    na = "na"
    adherent = "adherent"
    missed = "missed"
    stopped = "stopped"


class Support(enum.StrEnum):
    counselling = "counselling"
    legal = "legal"
    papers = "papers"
    job = "job"
    loan = "loan"
    vocational = "vocational"
    health = "health"
    family = "family"
    # Not support as such, but noted on the visit that led to it: the seeds' commune plan
    # counts the dossiers proposing compulsory rehab, and a visit is where it is decided.
    compulsory_dossier = "compulsory_dossier"


class Risk(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Setting(enum.StrEnum):
    school = "school"
    workplace = "workplace"
    community = "community"
    family = "family"
    online = "online"


class TalkFormat(enum.StrEnum):
    talk = "talk"
    contest = "contest"
    leaflet = "leaflet"
    loudspeaker = "loudspeaker"
    club = "club"
    social = "social"


class Topic(enum.StrEnum):
    law = "law"
    harms = "harms"
    synthetic = "synthetic"
    refusal = "refusal"
    rehab = "rehab"
    stigma = "stigma"
    hiv = "hiv"
    family = "family"


class Sex(enum.StrEnum):
    male = "male"
    female = "female"
    other = "other"


# The people register's vocabularies (Law 73/2021/QH14 and its decrees; high_risk is a
# project target group, not a legal category).
class Category(enum.StrEnum):
    drug_user = "drug_user"
    voluntary = "voluntary"
    methadone = "methadone"
    post_rehab = "post_rehab"
    education = "education"
    high_risk = "high_risk"


class EndReason(enum.StrEnum):
    completed = "completed"
    relapsed = "relapsed"
    moved = "moved"
    died = "died"
    imprisoned = "imprisoned"
    compulsory = "compulsory"


class AgeBand(enum.StrEnum):
    under18 = "under18"
    a18_29 = "18_29"
    a30_44 = "30_44"
    a45 = "45plus"


class Service(enum.StrEnum):
    health_station = "health_station"
    methadone = "methadone"
    voluntary_rehab = "voluntary_rehab"
    counselling = "counselling"
    legal_aid = "legal_aid"
    vocational = "vocational"
    jobs_loans = "jobs_loans"
    peer_group = "peer_group"


class Urgency(enum.StrEnum):
    normal = "normal"
    soon = "soon"
    urgent = "urgent"


class RefStatus(enum.StrEnum):
    referred = "referred"
    received = "received"
    attended = "attended"
    closed = "closed"


class RefOutcome(enum.StrEnum):
    completed = "completed"
    declined = "declined"
    no_show = "no_show"
    cancelled = "cancelled"


class Kind(enum.StrEnum):
    visit = "visit"
    talk = "talk"
    referral = "referral"
    training = "training"
    counselling = "counselling"
    referral_status = "referral_status"  # a referral's follow-up step, reviewed like the rest


class State(enum.StrEnum):
    submitted = "submitted"
    approved = "approved"
    returned = "returned"
    rejected = "rejected"


LABELS: dict[type[enum.Enum], dict[str, str]] = {
    VisitKind: {"home": N_("Home visit"), "phone": N_("Phone call"),
                "commune": N_("Meeting at the commune")},
    NotMetReason: {"not_home": N_("Not at home"), "refused": N_("Refused to meet"),
                   "moved": N_("Moved away")},
    DrugSigns: {"none": N_("No signs"), "suspected": N_("Suspected use"),
                "confirmed": N_("Confirmed relapse")},
    Methadone: {"na": N_("Not on methadone"), "adherent": N_("Takes every dose"),
                "missed": N_("Missed doses"), "stopped": N_("Stopped treatment")},
    Support: {"counselling": N_("Counselling"), "legal": N_("Legal advice"),
              "papers": N_("Help with papers"), "job": N_("Job advice"),
              "loan": N_("Loan advice"), "vocational": N_("Vocational training advice"),
              "health": N_("Health advice"), "family": N_("Family mediation"),
              "compulsory_dossier": N_("Dossier for compulsory rehab prepared")},
    Risk: {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")},
    Setting: {"school": N_("School"), "workplace": N_("Workplace"),
              "community": N_("Community"), "family": N_("Family"), "online": N_("Online")},
    TalkFormat: {"talk": N_("Talk"), "contest": N_("Contest"),
                 "leaflet": N_("Leaflets or posters"), "loudspeaker": N_("Loudspeaker"),
                 "club": N_("Club meeting"), "social": N_("Social media")},
    Topic: {"law": N_("Drug law"), "harms": N_("Harms of drugs"),
            "synthetic": N_("Synthetic drugs"), "refusal": N_("Refusal skills"),
            "rehab": N_("Rehab options"), "stigma": N_("Against stigma"),
            "hiv": N_("HIV and safe use"), "family": N_("Family support")},
    Sex: {"male": N_("Male"), "female": N_("Female"), "other": N_("Other")},
    Category: {"drug_user": N_("Drug user under management"),
               "voluntary": N_("Voluntary rehab at home or in the community"),
               "methadone": N_("Methadone / substitution treatment"),
               "post_rehab": N_("Post-rehab management"),
               "education": N_("Education at the commune"), "high_risk": N_("High risk")},
    EndReason: {"completed": N_("Completed"), "relapsed": N_("Relapsed"),
                "moved": N_("Moved away"), "died": N_("Died"), "imprisoned": N_("Imprisoned"),
                "compulsory": N_("Sent to compulsory rehab")},
    AgeBand: {"under18": N_("Under 18"), "18_29": N_("18–29"), "30_44": N_("30–44"),
              "45plus": N_("45 or older")},
    Service: {"health_station": N_("Commune health station"),
              "methadone": N_("Methadone clinic"),
              "voluntary_rehab": N_("Voluntary rehab provider"),
              "counselling": N_("Psychological counselling"), "legal_aid": N_("Legal aid"),
              "vocational": N_("Vocational training"), "jobs_loans": N_("Jobs and loans"),
              "peer_group": N_("Peer group or club")},
    Urgency: {"normal": N_("Normal"), "soon": N_("Within a week"), "urgent": N_("Urgent")},
    RefStatus: {"referred": N_("Referred"), "received": N_("Received by provider"),
                "attended": N_("Attended"), "closed": N_("Closed")},
    RefOutcome: {"completed": N_("Completed"), "declined": N_("Declined"),
                 "no_show": N_("Did not show up"), "cancelled": N_("Cancelled")},
    Kind: {"visit": N_("Visit"), "talk": N_("Outreach talk"), "referral": N_("Referral"),
           "training": N_("Training session"), "counselling": N_("Counselling contact"),
           "referral_status": N_("Referral follow-up step")},
    State: {"submitted": N_("Waiting for review"), "approved": N_("Approved"),
            "returned": N_("Returned for correction"), "rejected": N_("Rejected")},
}



# ---------------------------------------------------------------- training and counselling


class TrainingTopic(enum.StrEnum):
    law = "law"
    prevention = "prevention"
    counselling = "counselling"
    voluntary_rehab = "voluntary_rehab"
    post_rehab = "post_rehab"
    stigma = "stigma"
    health = "health"
    records = "records"


class Channel(enum.StrEnum):
    hotline = "hotline"
    zalo_phone = "zalo_phone"
    commune = "commune"
    home = "home"


class Asker(enum.StrEnum):
    person = "person"
    family = "family"
    community = "community"
    school = "school"
    anonymous = "anonymous"


class CounselTopic(enum.StrEnum):
    rehab = "rehab"
    methadone = "methadone"
    law = "law"
    family = "family"
    mental_health = "mental_health"
    relapse = "relapse"
    jobs = "jobs"
    hiv = "hiv"
    other = "other"


class CounselAction(enum.StrEnum):
    advice = "advice"
    information = "information"
    referral = "referral"


LABELS.update({
    TrainingTopic: {"law": N_("Drug law and decrees"), "prevention": N_("Prevention work"),
                    "counselling": N_("Counselling skills"),
                    "voluntary_rehab": N_("Voluntary rehab at home and in the community"),
                    "post_rehab": N_("Post-rehab management and support"),
                    "stigma": N_("Against stigma"), "health": N_("Health, HIV and methadone"),
                    "records": N_("Records and reporting")},
    Channel: {"hotline": N_("Hotline call"), "zalo_phone": N_("Zalo or phone"),
              "commune": N_("In person at the commune"), "home": N_("At home")},
    Asker: {"person": N_("The person themselves"), "family": N_("Family member"),
            "community": N_("Community member"), "school": N_("School"),
            "anonymous": N_("Anonymous")},
    CounselTopic: {"rehab": N_("Rehab options"), "methadone": N_("Methadone"),
                   "law": N_("Law and procedures"), "family": N_("Family relations"),
                   "mental_health": N_("Mental health"), "relapse": N_("Relapse or cravings"),
                   "jobs": N_("Jobs and livelihood"), "hiv": N_("HIV and health"),
                   "other": N_("Other")},
    CounselAction: {"advice": N_("Advice"), "information": N_("Information"),
                    "referral": N_("Referral to a service")},
})


def label(enum_cls: type[enum.Enum], code: object) -> str:
    """The translated label of a code, or the code itself when it is unknown."""
    text = LABELS.get(enum_cls, {}).get(str(code))
    return translated(text) if text else str(code or "")


def choices(enum_cls: type[enum.Enum]) -> list[tuple[str, str]]:
    return [(str(m.value), label(enum_cls, m.value)) for m in enum_cls]
