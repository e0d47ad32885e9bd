"""Training sessions and counselling contacts in the report: the commune's figures, the
province roll-up (sums; the share of staff trained recomputed from the sums), the pages, the
XLSX, the Decree 30 document's sentences (vi and en) and a finalised version that keeps them.

The fixture (custom period: the last 100 days up to today; communes A = HK, B = HT; both
recorded through `submit_record` and decided through the review queries):

Training — A's staff: alice, bob, carol (3); B's staff: dave, erin (2).
- A t1 approved: alice + bob + 10 others, topics law, prevention.
- A t2 approved: bob + 5 others, topic law.
- A t3 pending: carol + 7 others. A t4 rejected: carol + 3 others.
- B t5 approved: dave + erin + 4 others, topic voluntary_rehab.
Hand counts: A 2 sessions, 3 + 15 = 18 participants, 2/3 staff trained (66.7%, not met);
B 1 session, 6 participants, 2/2 (100%, met); province 3 sessions, 24 participants,
4/5 = 80.0% — NOT more than 80% (the average of the communes' shares, 83.3%, would say met).

Counselling contacts:
- A c1 approved: hotline, anonymous, topics rehab + law, actions advice + information.
- A c2 approved: zalo_phone, family, relapse, actions referral + advice, linked to a
  completed referral, follow-up asked.
- A c3 approved: home, the person, jobs, action referral, linked to an open referral,
  follow-up asked.
- A c4 pending (hotline, anonymous, hiv, advice); A c5 rejected (commune, community).
- B c6 approved: hotline, anonymous, methadone, information.
Hand counts: A 3 contacts (hotline 1, zalo 1, home 1), 2 referrals, 1 completed, 2 follow-ups
open, 1 pending; province 4 contacts, hotline 2, anonymous 2, information 2, 2 referrals.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest

from server.areas.queries import get_area
from server.counselling.queries import set_counsellors
from server.i18n import set_locale
from server.records.queries import submit_record
from server.reports import periods, sentences
from server.reports.build import build_report
from server.review.queries import approve_entry, reject_entry
from server.training.queries import set_recorders
from server.vntime import today as vn_today
from server.web import CurrentUser
from tests.conftest import run
from tests.factories import make_entry, make_person

TODAY = vn_today()
PERIOD = periods.custom(TODAY - dt.timedelta(days=100), TODAY)
FORM = {"kind": "custom", "start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
QUERY = "&".join(f"{k}={v}" for k, v in FORM.items())
TRAINING_VI_A = ("Tổ chức 2 buổi tập huấn với 18 lượt người tham dự; 2/3 cán bộ xã, thôn "
                 "được tập huấn (66,7%; chỉ tiêu trên 80%).")


def who(user_id: int, role: str, commune: int) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, name="", area_id=commune, area_name="",
                       area_level="commune")


def _submit(author: CurrentUser, kind: str, days_ago: int, data: dict[str, Any]) -> uuid.UUID:
    entry_id = uuid.uuid4()
    payload = {"date": (TODAY - dt.timedelta(days=days_ago)).isoformat(), **data}
    result = run(submit_record(author, kind, entry_id, 1, dt.datetime.now(dt.UTC), payload))
    assert result.outcome == "stored", result
    return entry_id


def _training(author: CurrentUser, days_ago: int, participants: list[int], others: int,
              topics: list[str]) -> uuid.UUID:
    return _submit(author, "training", days_ago, {
        "title": f"Buổi tập huấn {days_ago}", "topics": topics, "participants": participants,
        "others_count": others})


def _contact(author: CurrentUser, days_ago: int, **data: Any) -> uuid.UUID:
    return _submit(author, "counselling", days_ago, {"time": "09:30", **data})


@pytest.fixture
def plan(world: dict[str, Any]) -> dict[str, Any]:
    a, b = world["A"], world["B"]
    alice, dave = who(world["alice"], "official", a), who(world["dave"], "official", b)
    run(set_recorders(alice, [world["carol"]]))
    run(set_recorders(dave, [world["erin"]]))
    run(set_counsellors(alice, [world["bob"]]))
    run(set_counsellors(dave, [world["erin"]]))
    carol, bob = who(world["carol"], "volunteer", a), who(world["bob"], "volunteer", a)
    erin = who(world["erin"], "volunteer", b)

    t1 = _training(carol, 80, [world["alice"], world["bob"]], 10, ["law", "prevention"])
    t2 = _training(carol, 50, [world["bob"]], 5, ["law"])
    _training(carol, 30, [world["carol"]], 7, ["stigma"])  # t3, stays pending
    t4 = _training(carol, 20, [world["carol"]], 3, ["law"])
    t5 = _training(erin, 40, [world["dave"], world["erin"]], 4, ["voluntary_rehab"])

    pid = run(make_person(a, team=[world["bob"]]))
    done_ref = run(make_entry("referral", commune=a, author=world["bob"], person=pid,
                              state="approved", ref_status="closed", ref_outcome="completed"))
    open_ref = run(make_entry("referral", commune=a, author=world["bob"], person=pid))
    c1 = _contact(bob, 90, channel="hotline", asker="anonymous", topics=["rehab", "law"],
                  actions=["advice", "information"])
    c2 = _contact(bob, 60, channel="zalo_phone", asker="family", person=pid,
                  topics=["relapse"], actions=["referral", "advice"], referral=str(done_ref),
                  follow_up=True, follow_up_note="Hỏi lại sau một tuần")
    c3 = _contact(bob, 30, channel="home", asker="person", person=pid, topics=["jobs"],
                  actions=["referral"], referral=str(open_ref), follow_up=True,
                  follow_up_note="Đi cùng đến nơi khám")
    c4 = _contact(bob, 10, channel="hotline", asker="anonymous", topics=["hiv"],
                  actions=["advice"])  # stays pending (until the finalised test)
    c5 = _contact(bob, 5, channel="commune", asker="community", topics=["other"],
                  actions=["information"])
    c6 = _contact(erin, 40, channel="hotline", asker="anonymous", topics=["methadone"],
                  actions=["information"])
    for entry in (t1, t2, c1, c2, c3):
        run(approve_entry(alice, entry, 1))
    run(reject_entry(alice, t4, 1, "Trùng với buổi khác"))
    run(reject_entry(alice, c5, 1, "Ghi nhầm"))
    for entry in (t5, c6):
        run(approve_entry(dave, entry, 1))
    return {"c4": c4}


def _area(world: dict[str, Any], key: str) -> dict[str, Any]:
    return run(get_area(world[key]))


def _training_counts(tr: dict[str, Any]) -> tuple[Any, ...]:
    return (tr["sessions"], tr["participants"], tr["staff_trained"], tr["staff_total"],
            tr["share_trained"], tr["target_met"], tr["pending"])


def test_commune_figures_and_the_province_roll_up(world, plan):
    a = run(build_report(_area(world, "A"), PERIOD, detail=True))["totals"]
    assert a["training"] == {
        "sessions": 2, "participants": 18, "participants_staff": 3, "participants_other": 15,
        "staff_total": 3, "staff_trained": 2, "share_trained": 66.7, "target_pct": 80,
        "target_met": False, "by_topic": {"law": 2, "prevention": 1},
        "by_organisation": {"": 2}, "pending": 1}
    co = a["counselling"]
    assert co["contacts"] == 3 and co["pending"] == 1
    assert co["by_channel"] == {"hotline": 1, "zalo_phone": 1, "commune": 0, "home": 1}
    assert {k: v for k, v in co["by_asker"].items() if v} == {
        "anonymous": 1, "family": 1, "person": 1}
    assert {k: v for k, v in co["by_topic"].items() if v} == {
        "rehab": 1, "law": 1, "relapse": 1, "jobs": 1}
    assert co["by_action"] == {"advice": 2, "information": 1, "referral": 2}
    assert (co["referrals_made"], co["referrals_linked"], co["referrals_completed"],
            co["follow_up_needed"], co["follow_up_open"], co["anonymous"]) == (2, 2, 1, 2, 2, 1)

    b = run(build_report(_area(world, "B"), PERIOD, detail=True))["totals"]
    assert _training_counts(b["training"]) == (1, 6, 2, 2, 100.0, True, 0)
    assert b["counselling"]["contacts"] == 1

    prov = run(build_report(_area(world, "province"), PERIOD, detail=False))
    pt = prov["totals"]
    # Σ trained ÷ Σ staff = 4/5 = 80.0%: not more than 80%, although the communes' shares
    # (66.7% and 100%) average to 83.3%.
    assert _training_counts(pt["training"]) == (3, 24, 4, 5, 80.0, False, 1)
    assert pt["training"]["by_topic"] == {"law": 2, "prevention": 1, "voluntary_rehab": 1}
    pc = pt["counselling"]
    assert (pc["contacts"], pc["by_channel"]["hotline"], pc["anonymous"],
            pc["by_action"]["information"], pc["referrals_made"], pc["referrals_completed"],
            pc["pending"]) == (4, 2, 2, 2, 2, 1, 1)
    by = {c["name"]: _training_counts(c["figures"]["training"]) for c in prov["by_commune"]}
    assert by == {"Xã Hoằng Kim": (2, 18, 2, 3, 66.7, False, 1),
                  "Xã Hoằng Trung": (1, 6, 2, 2, 100.0, True, 0)}
    assert "overdue" not in prov and "volunteers" not in prov  # numbers only


def test_pages_show_both_sections_for_the_commune_and_the_province(world, plan, as_user):
    alice = as_user(world["alice"])
    page = alice.get(f"/reports/view?{QUERY}")
    assert page.status_code == 200
    for anchor in ('id="training-sessions">2<', 'id="training-participants">18<',
                   'id="training-staff">2 / 3<', 'id="training-share">66,7%<',
                   'id="counselling-contacts">3<', 'id="counselling-channel-hotline">1<',
                   'id="counselling-channel-zalo_phone">1<',
                   'id="counselling-by_asker-anonymous">1<',
                   'id="counselling-by_topic-relapse">1<',
                   'id="counselling-by_action-referral">2<', 'id="counselling-referrals">2<'):
        assert anchor in page.text, anchor
    assert "Chưa đạt." in page.text
    printed = alice.get(f"/reports/print?{QUERY}")
    assert printed.status_code == 200
    assert 'id="training-share">66,7%<' in printed.text and TRAINING_VI_A in printed.text

    eve = as_user(world["eve"])
    prov = eve.get(f"/reports/view?{QUERY}")
    assert prov.status_code == 200
    for anchor in ('id="training-sessions">3<', 'id="training-participants">24<',
                   'id="training-staff">4 / 5<', 'id="training-share">80,0%<',
                   'id="counselling-contacts">4<', 'id="counselling-channel-hotline">2<'):
        assert anchor in prov.text, anchor
    target = re.search(r'id="training-target">(.*?)<', prov.text)
    assert target and target.group(1) == "Chưa đạt."
    prov_print = eve.get(f"/reports/print?{QUERY}")
    assert "Tổ chức 3 buổi tập huấn với 24 lượt người tham dự; 4/5 cán bộ xã, thôn được " \
        "tập huấn (80%; chỉ tiêu trên 80%)." in prov_print.text


def _rows(ws) -> dict[str, Any]:
    return {str(r[0]).strip(): r[1] for r in ws.iter_rows(values_only=True) if r and r[0]}


def test_xlsx_has_a_training_and_a_counselling_sheet(world, plan, as_user):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(as_user(world["eve"]).get(f"/reports/xlsx?{QUERY}").content))
    training = _rows(wb["Tập huấn"])
    assert training["Số buổi tập huấn đã tổ chức"] == 3
    assert training["Lượt người tham dự tập huấn"] == 24
    assert training["Cán bộ xã, thôn đã được tập huấn"] == 4
    assert training["Cán bộ xã, thôn"] == 5
    assert training["Tỷ lệ cán bộ được tập huấn (%)"] == 80.0
    assert training["Buổi tập huấn chờ duyệt"] == 1
    counselling = _rows(wb["Tư vấn"])
    assert counselling["Các lượt tư vấn"] == 4
    assert counselling["Lượt tư vấn theo kênh"] == 4
    assert counselling["Gọi đường dây nóng"] == 2
    assert counselling["Lượt tư vấn dẫn đến chuyển gửi"] == 2
    assert counselling["Chuyển gửi từ tư vấn đã hoàn thành"] == 1
    per = [list(r) for r in wb["Tập huấn, tư vấn theo xã"].iter_rows(values_only=True)][1:]
    assert ["Xã Hoằng Kim", 2, 2, 3, 66.7, 3, 2] in per
    assert ["Xã Hoằng Trung", 1, 2, 2, 100.0, 1, 0] in per


def test_the_by_commune_table_has_the_training_and_counselling_columns(world, plan, as_user):
    from openpyxl import load_workbook

    eve = as_user(world["eve"])
    page = eve.get(f"/reports/view?{QUERY}").text
    a, b = world["A"], world["B"]
    for anchor in (f'id="commune-{a}-training-sessions">2<', f'id="commune-{a}-staff-trained">2/3<',
                   f'id="commune-{a}-training-share">66,7%<',
                   f'id="commune-{a}-counselling-contacts">3<',
                   f'id="commune-{a}-counselling-referrals">2<',
                   f'id="commune-{b}-training-sessions">1<', f'id="commune-{b}-staff-trained">2/2<',
                   f'id="commune-{b}-training-share">100,0%<',
                   f'id="commune-{b}-counselling-contacts">1<',
                   f'id="commune-{b}-counselling-referrals">0<'):
        assert anchor in page, anchor
    wb = load_workbook(io.BytesIO(eve.get(f"/reports/xlsx?{QUERY}").content))
    rows = [list(r) for r in wb["Các xã"].iter_rows(values_only=True)]
    assert rows[0][-6:] == ["Các buổi tập huấn", "Cán bộ được tập huấn", "Cán bộ",
                            "Tỷ lệ được tập huấn (%)", "Các lượt tư vấn",
                            "Lượt tư vấn dẫn đến chuyển gửi"]
    per = {r[0]: r[-6:] for r in rows[1:]}
    assert per == {"Xã Hoằng Kim": [2, 2, 3, 66.7, 3, 2], "Xã Hoằng Trung": [1, 2, 2, 100.0, 1, 0]}


def test_document_sentences_in_vietnamese_and_english(world, plan):
    report = run(build_report(_area(world, "A"), PERIOD, detail=True))
    try:
        set_locale("vi")
        vi = dict(sentences.results(report))
        set_locale("en")
        en = dict(sentences.results(report))
    finally:
        set_locale("vi")
    assert vi["Tập huấn cán bộ xã, thôn"][0] == TRAINING_VI_A
    assert en["Training of commune and village staff"] == [
        "Organised 2 training sessions with 18 participants; 2 of 3 commune and village staff "
        "were trained (66.7%; target over 80%).",
        "Training topics: Drug law and decrees: 2 sessions; Prevention work: 1 session."]
    counselling = en["Counselling contacts"]
    assert counselling[0] == "3 counselling contacts were answered."
    assert "By channel: At home: 1; Hotline call: 1; Zalo or phone: 1." in counselling
    assert counselling[-1] == ("2 contacts led to a referral to a service, 1 of them "
                               "completed; 2 needed follow-up, 2 still open at the end of the "
                               "period.")
    # The singular form where there is one.
    b = run(build_report(_area(world, "B"), PERIOD, detail=True))
    set_locale("en")
    try:
        en_b = dict(sentences.results(b))
    finally:
        set_locale("vi")
    assert en_b["Training of commune and village staff"][0].startswith(
        "Organised 1 training session with 6 participants; 2 of 2")
    assert en_b["Counselling contacts"][0] == "1 counselling contact was answered."


def test_a_finalised_report_keeps_the_figures_after_a_later_approval(world, plan, as_user):
    alice = as_user(world["alice"])
    first = alice.post("/reports/finalise", data=FORM, follow_redirects=False)
    assert first.status_code == 303
    final_id = first.headers["location"].rsplit("/", 1)[1]
    # Later: the pending contact is approved, and a new approved session is recorded.
    run(approve_entry(who(world["alice"], "official", world["A"]), plan["c4"], 1))
    late = _training(who(world["carol"], "volunteer", world["A"]), 3, [world["carol"]], 0,
                     ["law"])
    run(approve_entry(who(world["alice"], "official", world["A"]), late, 1))
    live = alice.get(f"/reports/view?{QUERY}").text
    assert 'id="training-staff">3 / 3<' in live and 'id="counselling-contacts">4<' in live
    frozen = alice.get(f"/reports/final/{final_id}")
    assert frozen.status_code == 200
    assert 'id="training-staff">2 / 3<' in frozen.text
    assert 'id="training-share">66,7%<' in frozen.text
    assert 'id="counselling-contacts">3<' in frozen.text
    assert TRAINING_VI_A in alice.get(f"/reports/final/{final_id}/print").text
    from docx import Document
    from openpyxl import load_workbook

    docx = Document(io.BytesIO(alice.get(f"/reports/final/{final_id}/docx").content))
    assert TRAINING_VI_A in [p.text for p in docx.paragraphs]
    assert "Đã tư vấn 3 lượt." in [p.text for p in docx.paragraphs]

    wb = load_workbook(io.BytesIO(alice.get(f"/reports/final/{final_id}/xlsx").content))
    assert _rows(wb["Tư vấn"])["Các lượt tư vấn"] == 3
