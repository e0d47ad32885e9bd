"""Areas, organisations and users: lookups scoped to what the caller may see."""

from __future__ import annotations

import secrets
from typing import Any

from server.areas.tables import Area, Organisation, User
from server.errors import NotFound
from server.parse import db_id


async def get_area_by_code(code: str) -> dict[str, Any] | None:
    return await Area.select().where(Area.code == code).first()


async def get_area(area_id: int) -> dict[str, Any] | None:
    return await Area.select().where(Area.id == area_id).first()


async def list_areas() -> list[dict[str, Any]]:
    return await Area.select(Area.id, Area.code, Area.level, Area.name, Area.parent).order_by(
        Area.code)


async def list_villages(commune_id: int) -> list[dict[str, Any]]:
    return await Area.select().where(
        (Area.parent == commune_id) & (Area.level == "village")).order_by(Area.name)


async def list_descendant_communes(area_id: int) -> list[dict[str, Any]]:
    """Communes at or below an area (province → district → commune), breadth-first."""
    found: list[dict[str, Any]] = []
    frontier = [area_id]
    root = await get_area(area_id)
    if root and root["level"] == "commune":
        return [root]
    while frontier:
        children = await Area.select().where(Area.parent.is_in(frontier)).order_by(Area.name)
        found.extend(c for c in children if c["level"] == "commune")
        frontier = [c["id"] for c in children if c["level"] in ("province", "district")]
    return found


async def list_organisations() -> list[dict[str, Any]]:
    return await Organisation.select().order_by(Organisation.name)


async def create_user(*, display_name: str, role: str, area_id: int,
                      organisation_id: int | None = None, phone: str = "") -> int:
    row = await User.insert(User(display_name=display_name, role=role, area=area_id,
                                 organisation=organisation_id, phone=phone,
                                 handle=secrets.token_bytes(32))).returning(User.id)
    return int(row[0]["id"])


async def get_user_in_area(user_id: int, area_id: int) -> dict[str, Any]:
    """A user of the caller's own area, or 404 (never 403: existence is not revealed)."""
    if db_id(user_id) is None:  # past the id column's range: not found, not a database error
        raise NotFound()
    row = await User.select(*User.all_columns(), User.area.name.as_alias("area_name")).where(
        (User.id == user_id) & (User.area == area_id)).first()
    if row is None:
        raise NotFound()
    return row


async def list_users_in_area(area_id: int) -> list[dict[str, Any]]:
    return await User.select(
        User.id, User.display_name, User.role, User.phone, User.active,
        User.organisation.name.as_alias("organisation_name"),
    ).where(User.area == area_id).order_by(User.role, User.display_name)


async def set_user_active(user_id: int, active: bool) -> None:
    await User.update({User.active: active}).where(User.id == user_id)


async def describe_users(ids: list[int]) -> dict[int, str]:
    """User id → display name, for the actors of the audit log."""
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(sorted(set(ids))))
    return {r["id"]: r["display_name"] for r in rows}
