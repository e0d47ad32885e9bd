"""Reading and changing the public page: the area it belongs to, its published and draft
content, the listed providers, the planned talks — and the audited writes of the editor.

Only the functions named `list_public_*` / `get_published_*` feed the public page; they select
named public columns and nothing else, so no person's data can reach it by a wider SELECT.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.areas.queries import list_descendant_communes
from server.areas.tables import Area
from server.audit.queries import record_event
from server.db import write_transaction
from server.public.tables import PlannedTalk, PublicPage
from server.records.tables import Provider

PAGE_LEVELS = ("province", "district", "commune")
CONTENT = ("body_vi", "body_en", "hotline_number", "hotline_hours")
UPCOMING = 10


async def get_public_area(code: str) -> dict[str, Any] | None:
    """The commune, district or province with this code (villages have no page)."""
    if not code or len(code) > 20 or not code.isprintable():
        return None  # never a code; a NUL would be a database error on PostgreSQL
    return await Area.select(Area.id, Area.code, Area.name, Area.level, Area.parent).where(
        (Area.code == code) & Area.level.is_in(list(PAGE_LEVELS))).first()


async def get_public_parent(area: dict[str, Any]) -> dict[str, Any] | None:
    """The page one level up (a commune's province), for the link back."""
    if area["parent"] is None:
        return None
    return await Area.select(Area.code, Area.name).where(
        (Area.id == area["parent"]) & Area.level.is_in(list(PAGE_LEVELS))).first()


async def list_public_communes(area_id: int) -> list[dict[str, Any]]:
    """The communes below a province or district, for its page's list of commune pages."""
    return [{"id": c["id"], "code": c["code"], "name": c["name"]}
            for c in await list_descendant_communes(area_id) if c["id"] != area_id]


async def get_published_page(area_id: int) -> dict[str, Any]:
    """The published text and hotline (empty values when nothing was ever published)."""
    row = await PublicPage.select(
        PublicPage.body_vi, PublicPage.body_en, PublicPage.hotline_number,
        PublicPage.hotline_hours, PublicPage.published_at, PublicPage.version,
    ).where(PublicPage.area == area_id).first()
    return row or {"body_vi": None, "body_en": None, "hotline_number": "", "hotline_hours": "",
                   "published_at": None, "version": 0}


async def get_published_hotline(area_id: int) -> dict[str, str]:
    """The counselling hotline the area publishes: {"number", "hours"} (empty when none)."""
    page = await get_published_page(area_id)
    return {"number": page["hotline_number"], "hours": page["hotline_hours"]}


async def get_draft_page(area_id: int) -> dict[str, Any]:
    """What the editor and the preview show: the pending draft, else the published content."""
    row = await PublicPage.select().where(PublicPage.area == area_id).first()
    if row is None:
        return {**await get_published_page(area_id), "pending": False, "draft_saved_at": None}
    if row["draft_saved_at"] is None:
        content = {k: row[k] for k in CONTENT}
    else:
        content = {k: row[f"draft_{k}"] for k in CONTENT}
    return {**content, "pending": row["draft_saved_at"] is not None,
            "draft_saved_at": row["draft_saved_at"], "published_at": row["published_at"],
            "version": row["version"]}


async def list_public_providers(commune_id: int) -> list[dict[str, Any]]:
    """The commune's providers an official listed on the public page and has not hidden."""
    return await Provider.select(
        Provider.name, Provider.service, Provider.address, Provider.hours, Provider.phone,
    ).where(
        (Provider.commune == commune_id) & (Provider.active == True)  # noqa: E712
        & (Provider.listed == True)  # noqa: E712 - Piccolo column comparison
    ).order_by(Provider.service).order_by(Provider.name)


async def list_public_talks(area_ids: list[int], today: dt.date,
                            limit: int = UPCOMING) -> list[dict[str, Any]]:
    """Planned talks from today on, soonest first, with the area they belong to."""
    if not area_ids:
        return []
    return await PlannedTalk.select(
        PlannedTalk.talk_date, PlannedTalk.start_time, PlannedTalk.place, PlannedTalk.topic,
        PlannedTalk.area.name.as_alias("area_name"),
    ).where(PlannedTalk.area.is_in(area_ids) & (PlannedTalk.talk_date >= today)).order_by(
        PlannedTalk.talk_date).order_by(PlannedTalk.start_time).limit(limit)


async def list_planned_talks(area_id: int, today: dt.date) -> list[dict[str, Any]]:
    """The area's upcoming planned talks for the editor (with ids, to remove one)."""
    return await PlannedTalk.select(
        PlannedTalk.id, PlannedTalk.talk_date, PlannedTalk.start_time, PlannedTalk.place,
        PlannedTalk.topic,
    ).where((PlannedTalk.area == area_id) & (PlannedTalk.talk_date >= today)).order_by(
        PlannedTalk.talk_date).order_by(PlannedTalk.start_time)


# ---------------------------------------------------------------- the editor's writes


async def save_draft(actor_id: int, area_id: int, content: dict[str, Any]) -> None:
    """Keep the editor's content as the pending draft; the public page does not change."""
    now = dt.datetime.now(dt.UTC)
    async with write_transaction(PublicPage._meta.db):
        await PublicPage.insert(PublicPage(area=area_id)).on_conflict(
            target=PublicPage.area, action="DO NOTHING")
        await PublicPage.update({
            **{getattr(PublicPage, f"draft_{k}"): content[k] for k in CONTENT},
            PublicPage.draft_saved_at: now, PublicPage.draft_saved_by: actor_id,
        }).where(PublicPage.area == area_id)
        await record_event("public.draft", actor_id=actor_id, commune_id=area_id,
                           subject_type="public_page", subject_id=area_id,
                           detail={k: content[k] for k in CONTENT})


async def publish_draft(actor_id: int, area_id: int) -> bool:
    """Make the pending draft the published page; False when there is no draft.

    One UPDATE copies the draft columns over the published ones, so of two officials
    publishing at once (or one saving a draft meanwhile) nothing is lost or half-copied.
    """
    now = dt.datetime.now(dt.UTC)
    async with write_transaction(PublicPage._meta.db):
        rows = await PublicPage.update({
            **{getattr(PublicPage, k): getattr(PublicPage, f"draft_{k}") for k in CONTENT},
            PublicPage.version: PublicPage.version + 1, PublicPage.published_at: now,
            PublicPage.published_by: actor_id, PublicPage.draft_saved_at: None,
        }).where((PublicPage.area == area_id) & PublicPage.draft_saved_at.is_not_null()
                 ).returning(PublicPage.version, *(getattr(PublicPage, k) for k in CONTENT))
        if not rows:
            return False
        await record_event("public.publish", actor_id=actor_id, commune_id=area_id,
                           subject_type="public_page", subject_id=area_id, detail=rows[0])
    return True


async def discard_draft(actor_id: int, area_id: int) -> bool:
    """Drop the pending draft (the published page stays); False when there is none."""
    async with write_transaction(PublicPage._meta.db):
        rows = await PublicPage.update({PublicPage.draft_saved_at: None}).where(
            (PublicPage.area == area_id) & PublicPage.draft_saved_at.is_not_null()).returning(
            PublicPage.id)
        if not rows:
            return False
        await record_event("public.discard", actor_id=actor_id, commune_id=area_id,
                           subject_type="public_page", subject_id=area_id)
    return True


async def add_planned_talk(actor_id: int, area_id: int, talk: dict[str, Any]) -> int:
    async with write_transaction(PlannedTalk._meta.db):
        rows = await PlannedTalk.insert(PlannedTalk(
            area=area_id, talk_date=talk["date"], start_time=talk["start_time"],
            place=talk["place"], topic=talk["topic"], created_by=actor_id)).returning(
            PlannedTalk.id)
        talk_id = int(rows[0]["id"])
        await record_event("public.talk_add", actor_id=actor_id, commune_id=area_id,
                           subject_type="planned_talk", subject_id=talk_id,
                           detail={**talk, "date": talk["date"].isoformat()})
    return talk_id


async def remove_planned_talk(actor_id: int, area_id: int, talk_id: int) -> bool:
    """Remove one of the area's planned talks; False when it is not the area's."""
    async with write_transaction(PlannedTalk._meta.db):
        rows = await PlannedTalk.delete().where(
            (PlannedTalk.id == talk_id) & (PlannedTalk.area == area_id)).returning(
            PlannedTalk.talk_date, PlannedTalk.place, PlannedTalk.topic)
        if not rows:
            return False
        await record_event("public.talk_remove", actor_id=actor_id, commune_id=area_id,
                           subject_type="planned_talk", subject_id=talk_id,
                           detail={"date": str(rows[0]["talk_date"]), "place": rows[0]["place"],
                                   "topic": rows[0]["topic"]})
    return True
