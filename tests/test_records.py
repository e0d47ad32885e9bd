"""The one write path (`submit_record`): storing, idempotency, corrections, conflicts, access,
validation with every error, and the schema driving both the form and the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
import pytest

from schema.records import VisitIn
from server.records.queries import submit_record
from server.vntime import today as vn_today
from server.web import CurrentUser
from tests.conftest import run
from tests.factories import make_entry, make_person

NOW = dt.datetime.now(dt.UTC)


def cu(world, name):
    from server.auth.queries import get_user_for_session

    u = run(get_user_for_session(world[name]))
    return CurrentUser(id=u["id"], role=u["role"], name=u["display_name"], area_id=u["area"],
                       area_name=u["area_name"], area_level=u["area_level"])


def submit(user, kind, data, rid=None, version=1):
    rid = rid or uuid.uuid4()
    return rid, run(submit_record(user, kind, rid, version, NOW, data))


@pytest.fixture
def bobs_person(world):
    return run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                           start=dt.date(2025, 1, 1)))


def visit(person, **kw):
    data = {"person": person, "date": vn_today().isoformat(), "visit_kind": "home",
            "met": True, "health": "Khỏe", "drug_signs": "none", "support": ["counselling"],
            "risk": "low"}
    data.update(kw)
    return data


def test_store_then_same_again_is_unchanged_with_the_same_receipt(world, bobs_person):
    bob = cu(world, "bob")
    rid, first = submit(bob, "visit", visit(bobs_person))
    assert first.outcome == "stored" and first.version == 1 and first.state == "submitted"
    assert first.receipt and first.receipt.startswith("HK-")
    _rid, again = submit(bob, "visit", visit(bobs_person), rid=rid)
    assert again.outcome == "unchanged" and again.receipt == first.receipt
    _rid, changed = submit(bob, "visit", visit(bobs_person, health="Ốm"), rid=rid)
    assert changed.outcome == "conflict" and changed.version == 1


def test_correction_makes_version_two_and_approved_cannot_be_corrected(world, bobs_person):
    bob = cu(world, "bob")
    rid, first = submit(bob, "visit", visit(bobs_person))
    _r, fixed = submit(bob, "visit", visit(bobs_person, health="Ốm nhẹ"), rid=rid, version=2)
    assert fixed.outcome == "stored" and fixed.version == 2
    assert fixed.receipt != first.receipt
    _r, stale = submit(bob, "visit", visit(bobs_person, health="x"), rid=rid, version=2)
    assert stale.outcome == "conflict" and stale.version == 2
    _r, skip = submit(bob, "visit", visit(bobs_person, health="x"), rid=rid, version=4)
    assert skip.outcome == "conflict"
    from server.records.tables import Entry

    run(Entry.update({Entry.state: "approved"}).where(Entry.id == rid).run())
    _r, locked = submit(bob, "visit", visit(bobs_person, health="y"), rid=rid, version=3)
    assert locked.outcome == "conflict" and locked.state == "approved"


def test_someone_elses_person_is_forbidden(world, bobs_person):
    carol, dave, eve = cu(world, "carol"), cu(world, "dave"), cu(world, "eve")
    assert submit(carol, "visit", visit(bobs_person))[1].outcome == "forbidden"
    assert submit(dave, "visit", visit(bobs_person))[1].outcome == "forbidden"
    assert submit(eve, "visit", visit(bobs_person))[1].outcome == "forbidden"
    # an official of the commune may record for anyone of it
    assert submit(cu(world, "alice"), "visit", visit(bobs_person))[1].outcome == "stored"


def test_every_error_at_once(world, bobs_person):
    bob = cu(world, "bob")
    future = (vn_today() + dt.timedelta(days=2)).isoformat()
    _r, res = submit(bob, "visit", visit(bobs_person, date=future, visit_kind="boat",
                                         met=False, health="x" * 100_000, support=["magic"],
                                         risk=7))
    assert res.outcome == "invalid"
    assert set(res.errors) >= {"visit_kind", "health", "support", "risk"}
    # semantic checks also run when the schema checks failed elsewhere
    assert "date" in res.errors and "not_met_reason" in res.errors


def test_dates_before_register_and_in_future(world, bobs_person):
    bob = cu(world, "bob")
    _r, res = submit(bob, "visit", visit(bobs_person, date="2024-12-31"))
    assert res.outcome == "invalid" and "01/01/2025" in res.errors["date"]
    tomorrow = (vn_today() + dt.timedelta(days=1)).isoformat()
    _r, res = submit(bob, "visit", visit(bobs_person, date=tomorrow))
    assert res.outcome == "invalid" and "date" in res.errors


@pytest.mark.parametrize("bad", [None, "nope", 3, [1, 2], {"person": {"x": 1}},
                                 {"person": "1; DROP TABLE entry"}, {"date": 12345}])
def test_hostile_input_never_raises(world, bobs_person, bad):
    bob = cu(world, "bob")
    data = bad if not isinstance(bad, dict) else {**visit(bobs_person), **bad}
    _r, res = submit(bob, "visit", data)
    assert res.outcome in ("invalid", "forbidden")


def test_talk_parts_cannot_exceed_total(world):
    bob = cu(world, "bob")
    village = world["villages"]["HK"][1]
    _r, res = submit(bob, "talk", {"date": vn_today().isoformat(), "village": village,
                                   "topics": ["law"], "attendees_total": 10,
                                   "attendees_women": 11, "attendees_under30": 12,
                                   "attendees_students": -1})
    assert res.outcome == "invalid"
    assert set(res.errors) == {"attendees_women", "attendees_under30", "attendees_students"}
    _r, res = submit(bob, "talk", {"date": vn_today().isoformat(),
                                   "village": world["villages"]["HT"][0], "topics": ["law"],
                                   "attendees_total": 10})
    assert res.outcome == "forbidden"


def test_unknown_kind_and_bad_version(world):
    bob = cu(world, "bob")
    assert submit(bob, "party", {})[1].outcome == "invalid"
    assert submit(bob, "visit", {}, version=0)[1].outcome == "invalid"
    assert submit(bob, "visit", {}, version=3)[1].outcome in ("conflict", "invalid")


def test_another_authors_entry_id_is_forbidden(world, bobs_person):
    rid = run(make_entry("visit", commune=world["A"], author=world["carol"],
                         person=bobs_person))
    _r, res = submit(cu(world, "bob"), "visit", visit(bobs_person), rid=rid, version=2)
    assert res.outcome == "forbidden"


def test_one_write_makes_entry_version_and_audit(world, bobs_person):
    from server.audit.tables import AuditEvent
    from server.records.tables import EntryVersion

    rid, res = submit(cu(world, "bob"), "visit", visit(bobs_person))
    assert res.outcome == "stored"
    assert run(EntryVersion.count().where(EntryVersion.entry == rid).run()) == 1
    assert run(AuditEvent.count().where((AuditEvent.subject_id == str(rid))
                                        & (AuditEvent.action == "entry.submit"))) == 1


# ---------------------------------------------------------------- one schema, many uses


def _constraints(cls):
    import msgspec.inspect as mi

    from schema.forms import _unwrap

    out = {}
    for f in mi.type_info(cls).fields:
        t, *_rest = _unwrap(f.type)
        if isinstance(t, mi.StrType) and t.max_length:
            out[f.name] = ("maxlength", "maxLength", t.max_length)
        elif isinstance(t, mi.IntType) and t.le is not None:
            out[f.name] = ("max", "maximum", t.le)
    return out


@pytest.mark.parametrize("kind,url,path", [
    ("visit", "/visits/new", "/api/v1/visits"), ("talk", "/talks/new", "/api/v1/talks"),
    ("referral", "/referrals/new", "/api/v1/referrals")])
def test_every_schema_constraint_is_in_the_form_and_the_openapi(world, as_user, kind, url,
                                                                path):
    import re

    from schema.records import INPUTS

    html = as_user(world["alice"]).get(url).text
    api = as_user(world["alice"]).get("/schema/openapi.json").json()
    props = api["paths"][path]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]["data"]["properties"]
    checked = 0
    for name, (attr, key, value) in _constraints(INPUTS[kind]).items():
        if name == "person" or name in ("village", "provider", "organisation"):
            continue  # reference lists: a <select> of allowed ids
        assert re.search(rf'name="{name}"[^>]*{attr}="{value}"', html), (name, attr)
        schema = props[name]
        schema = next((s for s in schema.get("anyOf", [schema]) if key in s), schema)
        assert schema[key] == value, name
        checked += 1
    assert checked >= 3


class PhoneVisitIn(VisitIn, kw_only=True):
    callback: Annotated[str, msgspec.Meta(title="Call back on", max_length=12,
                                          pattern=r"^0[0-9]{9,11}$")] = ""


class PhoneVisitSubmit(msgspec.Struct):
    data: PhoneVisitIn


def test_a_constraint_added_to_a_struct_reaches_form_validation_and_api(app):
    """A new field with a pattern, declared once, shows up everywhere it should."""
    from schema.forms import form_fields, form_values
    from server.records.api import body_schema
    from server.records.validation import validate_fields

    spec = {f.name: f for f in form_fields(PhoneVisitIn)}["callback"]
    assert spec.attrs == {"maxlength": 12, "pattern": r"^0[0-9]{9,11}$"}
    engine = app.template_engine.engine
    tpl = engine.from_string('{% from "records/_fields.html" import field %}'
                             '{{ field(f, values, {}, {}, "2026-01-01") }}')
    html = tpl.render(f=spec, values=form_values(PhoneVisitIn))
    assert 'name="callback"' in html and 'maxlength="12"' in html
    assert 'pattern="^0[0-9]{9,11}$"' in html
    schema = body_schema(PhoneVisitSubmit)["properties"]["data"]["properties"]["callback"]
    assert schema["pattern"] == r"^0[0-9]{9,11}$" and schema["maxLength"] == 12
    _obj, errors, _typed = validate_fields(PhoneVisitIn, {"person": 1, "date": "2026-01-01",
                                                          "callback": "12345"})
    assert set(errors) == {"callback"}


def test_two_concurrent_identical_submissions_store_once(world, bobs_person):
    import asyncio

    from server.records.tables import Entry, EntryVersion

    bob = cu(world, "bob")
    rid = uuid.uuid4()

    async def both():
        return await asyncio.gather(*(submit_record(bob, "visit", rid, 1, NOW,
                                                    visit(bobs_person)) for _ in range(2)))

    results = run(both())
    assert sorted(r.outcome for r in results) == ["stored", "unchanged"]
    assert results[0].receipt == results[1].receipt
    assert run(Entry.count().where(Entry.id == rid).run()) == 1
    assert run(EntryVersion.count().where(EntryVersion.entry == rid).run()) == 1


def test_home_shows_quick_actions_and_returned_entries(world, as_user, bobs_person):
    rid = run(make_entry("visit", commune=world["A"], author=world["bob"], person=bobs_person,
                         state="returned", review_comment="Bổ sung ghi chú sức khỏe",
                         entry_date=vn_today()))
    home = as_user(world["bob"]).get("/")
    assert home.status_code == 200
    assert 'href="/visits/new"' in home.text and "Bổ sung ghi chú sức khỏe" in home.text
    assert f"/entries/{rid}/edit" in home.text
    home = as_user(world["alice"]).get("/")
    assert home.status_code == 200 and 'href="/referrals/providers"' in home.text
    assert as_user(world["eve"]).get("/").status_code == 200


def test_demo_records_load_through_the_write_path(fresh_db):
    from server.demo import load_demo
    from server.records.tables import Entry, Provider

    ids = run(load_demo())
    assert run(Provider.count().where(Provider.commune == ids["HK"]).run()) >= 3
    for kind in ("visit", "talk", "referral"):
        assert run(Entry.count().where((Entry.kind == kind)
                                       & (Entry.commune == ids["HK"])).run()) >= 2
    returned = run(Entry.select(Entry.review_comment).where(
        (Entry.author == ids["users"]["bob"]) & (Entry.state == "returned")).run())
    assert returned and returned[0]["review_comment"]
