"""The home page of each role, and the commune's users: list, invite, re-invite, revoke."""

from __future__ import annotations

from typing import Any

import msgspec
import segno
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from server.areas import queries
from server.auth import queries as auth_queries
from server.home import home_context
from server.i18n import N_, _
from server.web import SignedIn, current_user, page

ROLE_LABELS = {"volunteer": N_("Volunteer"), "official": N_("Commune official"),
               "supervisor": N_("Supervisor"), "admin": N_("Administrator")}


@get("/", name="home", include_in_schema=False)
async def home(request: Request) -> Template | Redirect:
    user = current_user(request)
    if user is None:
        return Redirect(path="/signin")
    context: dict[str, Any] = {"role_label": _(ROLE_LABELS.get(user.role, user.role))}
    # Each area contributes its part of the home page through `home_context`.
    context.update(await home_context(user))
    response = page(request, "home.html", **context)
    # The home page lists people supported (caseload, to-do): like person pages, never stored.
    response.headers["Cache-Control"] = "no-store"
    return response


class InviteIn(msgspec.Struct):
    display_name: str = ""
    role: str = "volunteer"
    phone: str = ""
    organisation: str = ""


def _check_invite(data: InviteIn) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = data.display_name.strip()
    if not name:
        errors["display_name"] = _("Enter the person's full name.")
    elif len(name) > 120:
        errors["display_name"] = _("At most 120 characters.")
    if data.role not in ("volunteer", "official"):
        errors["role"] = _("Choose a role.")
    if data.phone and (len(data.phone) > 20 or not data.phone.replace(" ", "").replace(
            "+", "").isdigit()):
        errors["phone"] = _("Enter a phone number with digits only.")
    if data.organisation and not data.organisation.isdigit():
        errors["organisation"] = _("Choose an organisation from the list.")
    return errors


OFFICIAL = {"roles": ("official",)}


def _qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=4, dark="#111", light="#fff")


async def _users_context(user: SignedIn) -> dict[str, Any]:
    users = await queries.list_users_in_area(user.area_id)
    passkeys = await auth_queries.count_passkeys([u["id"] for u in users])
    for u in users:
        u["passkeys"] = passkeys.get(u["id"], 0)
        u["role_label"] = _(ROLE_LABELS.get(u["role"], u["role"]))
    return {"users": users, "organisations": await queries.list_organisations()}


@get("/users", name="users", include_in_schema=False, opt=OFFICIAL)
async def users_page(request: Request, user: SignedIn) -> Template:
    return page(request, "areas/users.html", form=InviteIn(), errors={},
                **await _users_context(user))


@post("/users", name="invite", include_in_schema=False, opt=OFFICIAL)
async def invite(request: Request, user: SignedIn,
                 data: URLEncodedBody[InviteIn]) -> Template:
    errors = _check_invite(data)
    if errors:
        response = page(request, "areas/users.html", form=data, errors=errors,
                        **await _users_context(user))
        response.status_code = 422
        return response
    new_id = await queries.create_user(
        display_name=data.display_name.strip(), role=data.role, area_id=user.area_id,
        organisation_id=int(data.organisation) if data.organisation else None,
        phone=data.phone.strip())
    return await _show_invitation(request, user, new_id)


async def _show_invitation(request: Request, user: SignedIn, user_id: int) -> Template:
    invited = await queries.get_user_in_area(user_id, user.area_id)
    token = await auth_queries.create_invitation(user_id, user.id)
    url = auth_queries.enrol_url(token)
    response = page(request, "areas/invited.html", invited=invited, url=url, qr=_qr_svg(url))
    response.headers["Cache-Control"] = "no-store"
    return response


@post("/users/{user_id:int}/invite", name="reinvite", include_in_schema=False, opt=OFFICIAL)
async def reinvite(request: Request, user: SignedIn, user_id: FromPath[int]) -> Template:
    return await _show_invitation(request, user, user_id)


@post("/users/{user_id:int}/revoke", name="revoke", include_in_schema=False, opt=OFFICIAL)
async def revoke(request: Request, user: SignedIn, user_id: FromPath[int]) -> Redirect:
    await queries.get_user_in_area(user_id, user.area_id)
    await auth_queries.revoke_passkeys(user_id, user.id, user.area_id)
    return Redirect(path="/users", status_code=303)


route_handlers = [home, users_page, invite, reinvite, revoke]
