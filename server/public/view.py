"""What the public page shows, gathered from public columns only — shared by the public route,
the poster and the editor's preview, so the preview is the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schema.enums import Service, Topic, label
from server import i18n
from server.public import content, queries
from server.settings import settings
from server.vntime import local_date
from server.vntime import today as vn_today


def public_url(code: str) -> str:
    return f"{settings.public_origin}/p/{code}"


def _date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


async def page_context(area: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """Everything the page shows, from public columns only; `page` is published or draft."""
    lang = i18n.get_locale()
    today = vn_today()
    ids = [area["id"]]
    providers: list[dict[str, Any]] = []
    communes: list[dict[str, Any]] = []
    if area["level"] == "commune":
        providers = [{**p, "service_label": label(Service, p["service"]),
                      "tel": content.tel_href(p["phone"]) if p["phone"] else ""}
                     for p in await queries.list_public_providers(area["id"])]
    else:
        communes = await queries.list_public_communes(area["id"])
        ids += [c["id"] for c in communes]
    talks = [{"date": _date(t["talk_date"]), "time": t["start_time"], "place": t["place"],
              "topic": label(Topic, t["topic"]),
              "area_name": t["area_name"] if area["level"] != "commune" else ""}
             for t in await queries.list_public_talks(ids, today)]
    published = page.get("published_at")
    return {
        "area": area, "lang": lang, "parent": await queries.get_public_parent(area),
        "body": content.render(content.body_for(
            {"vi": page["body_vi"], "en": page["body_en"]}, lang)),
        "hotline": {"number": page["hotline_number"], "hours": page["hotline_hours"],
                    "tel": content.tel_href(page["hotline_number"])}
        if page["hotline_number"] else None,
        "providers": providers, "communes": communes, "talks": talks,
        "updated": _date(local_date(published)) if published else "",
        "path": f"/p/{area['code']}",
    }
