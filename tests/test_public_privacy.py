"""Nothing about a person reaches a public page or poster.

A marker (as if it were a person's name) is planted in every text column of every table —
found by walking the tables Piccolo knows, so a table added later is covered too — except the
columns the public page is meant to show; those get it only in rows that must stay hidden (an
unlisted or closed provider, a pending draft, a talk already past). Then every public page and
poster, in both languages, is read signed out. The marker showing up in the official's own
screens proves it was planted where names live.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from piccolo.columns import JSON, JSONB, Text, Varchar
from piccolo.conf.apps import Finder

from server.areas.tables import Area
from server.audit.queries import record_event
from server.public import queries
from server.public.tables import PlannedTalk, PublicPage
from server.records.tables import Provider
from server.vntime import today as vn_today
from tests.conftest import run

MARKER = "Zqx Markername"
# Shown on purpose: the names and codes of communes and the province, and the public page's
# own rows (which get the marker in hidden rows below instead).
PUBLIC_TABLES = {PublicPage, PlannedTalk, Provider}
PUBLIC_COLUMNS = {("area", "code"), ("area", "level")}


async def plant_everywhere() -> set[tuple[str, str]]:
    """Append the marker to every row of every text column; return the columns it reached."""
    planted: set[tuple[str, str]] = set()
    for table in Finder().get_table_classes():
        if table in PUBLIC_TABLES:
            continue
        name = table._meta.tablename
        pk = table._meta.primary_key
        for column in table._meta.columns:
            key = (name, column._meta.name)
            if key in PUBLIC_COLUMNS or not isinstance(column, (Varchar, Text, JSON, JSONB)):
                continue
            where: Any = None
            if table is Area and column._meta.name == "name":
                # Villages' names are not on any public page; communes' are.
                where = Area.level == "village"
            query = table.select(pk, column)
            rows = await (query.where(where) if where is not None else query)
            for row in rows:
                value = row[column._meta.name]
                if isinstance(column, (JSON, JSONB)):
                    new: Any = json.dumps({"planted": MARKER, "was": value})
                else:
                    new = f"{value or ''} {MARKER}"
                try:
                    await table.update({column: new}).where(pk == row[pk._meta.name])
                except Exception:  # noqa: BLE001 - a CHECK, length or append-only refusal
                    continue
                planted.add(key)
    return planted


async def plant_hidden_public_rows(ids: dict[str, Any]) -> None:
    for commune in (ids["HK"], ids["HT"]):
        await Provider.insert(
            Provider(commune=commune, name=f"Nhóm {MARKER}", service="peer_group",
                     phone="0912 555 555", hours=MARKER, address=MARKER, listed=False),
            Provider(commune=commune, name=f"Cũ {MARKER}", service="counselling",
                     address=MARKER, listed=True, active=False),
        )
        await PlannedTalk.insert(PlannedTalk(
            area=commune, talk_date=vn_today() - dt.timedelta(days=1), place=MARKER,
            topic="law"))
    for key, actor in (("HK", "alice"), ("HT", "dave"), ("province", "eve")):
        await queries.save_draft(ids["users"][actor], ids[key], {
            "body_vi": f"Nháp {MARKER}", "body_en": f"Draft {MARKER}",
            "hotline_number": "0912 555 555", "hotline_hours": MARKER})
    await record_event("test.marker", actor_id=ids["users"]["alice"], commune_id=ids["HK"],
                       subject_type="person", subject_id=MARKER, detail={"name": MARKER})


def test_no_person_data_on_any_public_page_or_poster(fresh_db, client, as_user):
    from server.demo import load_demo

    ids = run(load_demo())
    run(plant_hidden_public_rows(ids))
    planted = run(plant_everywhere())
    # Where people's names and words live, the marker is in: the test cannot pass vacuously.
    for column in (("person", "full_name"), ("person", "notes"), ("person", "address"),
                   ("app_user", "display_name"), ("entry", "notes"), ("entry", "health"),
                   ("entry", "review_comment"), ("entry", "contact_alias"),
                   ("entry_version", "data"), ("referral_event", "note"),
                   ("organisation", "name"), ("area", "name")):
        assert column in planted, column
    alice = as_user(ids["users"]["alice"])
    assert MARKER in alice.get("/people").text
    assert MARKER in alice.get("/public/HK/preview").text

    for lang in ("vi", "en"):
        client.cookies.set("lang", lang)
        for code in ("HK", "HT", "TH"):
            for path in (f"/p/{code}", f"/p/{code}/poster"):
                r = client.get(path)
                assert r.status_code == 200, path
                assert MARKER not in r.text, (lang, path)
                assert "0912 555 555" not in r.text, (lang, path)
