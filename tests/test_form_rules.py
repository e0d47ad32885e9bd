"""The rules block a record form carries to the phone is generated from schema/: a constraint
changed in a Struct changes the block, skip logic and cross-field rules come from the
declarations, and the server applies the same rules with the same messages."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Annotated

import msgspec

from schema.forms import form_rules
from schema.records import RULES, TalkIn, VisitIn

DAY = dt.date(2026, 11, 28)


def _block(page: str, kind: str) -> dict:
    m = re.search(rf'<script type="application/json" id="rules-{kind}">(.*?)</script>', page,
                  re.S)
    assert m, "no rules block"
    return json.loads(html.unescape(m.group(1)))


class Note(msgspec.Struct, kw_only=True):
    text: Annotated[str, msgspec.Meta(title="Text", max_length=30)] = ""


class LongerNote(msgspec.Struct, kw_only=True):
    text: Annotated[str, msgspec.Meta(title="Text", max_length=45)] = ""


def test_a_changed_constraint_changes_the_block(app):
    assert form_rules(Note, DAY)["fields"]["text"]["maxLength"] == 30
    assert form_rules(LongerNote, DAY)["fields"]["text"]["maxLength"] == 45
    visit = form_rules(VisitIn, DAY)
    assert visit["fields"]["not_met_reason"]["showIf"] == {"met": "false"}
    assert visit["fields"]["date"] == {"label": "Ngày thăm", "required": True, "type": "date",
                                       "notFuture": True}
    assert [r["field"] for r in visit["rules"]] == [r["field"] for r in RULES[VisitIn]]
    talk = form_rules(TalkIn, DAY)
    assert talk["fields"]["attendees_total"]["max"] == 100_000
    assert {r["field"] for r in talk["rules"] if r["check"] == "not_more"} == \
        {"attendees_women", "attendees_under30", "attendees_students"}
    assert talk["messages"]["future"] == "Ngày không được ở tương lai."


def test_the_form_carries_the_block_and_the_server_says_the_same(world, as_user, app):
    from server.records.validation import validate_fields
    from server.vntime import today as vn_today

    page = as_user(world["alice"]).get("/talks/new").text
    block = _block(page, "talk")
    assert block == form_rules(TalkIn, vn_today())
    assert 'data-rules="rules-talk"' in page and "data-fresh" in page
    assert 'maxlength="2000"' not in page.replace("data-maxlength", "")  # never cut silently
    future = (vn_today() + dt.timedelta(days=1)).isoformat()
    _obj, errors, _typed = validate_fields(TalkIn, {
        "date": future, "village": 1, "topics": ["law"], "attendees_total": 5,
        "attendees_women": 9})
    women = next(r for r in block["rules"] if r["field"] == "attendees_women")
    assert errors == {"date": block["messages"]["future"],
                      "attendees_women": women["message"].replace("%(n)s", "5")}


def test_the_referral_step_form_carries_its_rules_too(world, as_user):
    """The follow-up step form on a referral's page is checked on the phone like the others:
    its block comes from ReferralStatusIn, the outcome asked only when the step closes."""
    from schema.records import ReferralStatusIn
    from server.vntime import today as vn_today
    from tests.conftest import run
    from tests.factories import make_entry, make_person

    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                          start=dt.date(2025, 1, 1)))
    ref = run(make_entry("referral", commune=world["A"], author=world["bob"], person=pid,
                         entry_date=vn_today() - dt.timedelta(days=3), state="approved",
                         service="methadone"))
    page = as_user(world["bob"]).get(f"/referrals/{ref}").text
    assert 'data-rules="rules-referral_status"' in page
    block = _block(page, "referral_status")
    assert block == form_rules(ReferralStatusIn, vn_today())
    assert block["fields"]["outcome"]["showIf"] == {"status": "closed"}


def test_the_person_picker_carries_the_category_skip_logic_reads(world, as_user):
    """Online too, the methadone question is asked only of a person on methadone."""
    from tests.conftest import run
    from tests.factories import make_person

    on = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                         category="methadone", name="Người Dùng Methadone"))
    page = as_user(world["bob"]).get("/visits/new").text
    assert f'<option value="{on}"  data-category="methadone">' in page
    assert _block(page, "visit")["fields"]["methadone"]["showIf"] == {"person.category":
                                                                        "methadone"}
