"""The providers officials maintain: the receiving services of referrals, and the commune's
service directory on its public page (address, opening hours, phone, and whether to list it
there at all)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from schema import public as limits
from schema.enums import Service, choices, label
from schema.public import ProviderIn
from server.i18n import _
from server.records import listing_queries
from server.web import SignedIn, db_id, page

OFFICIAL = {"roles": ("official",)}


def check_provider(data: ProviderIn) -> tuple[dict[str, str], dict[str, Any]]:
    """Every error of the provider form at once, and the values to keep when there is none."""
    errors: dict[str, str] = {}
    too_long = _("At most %(n)s characters.")
    name = data.name.strip()
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > limits.PROVIDER_NAME_MAX:
        errors["name"] = too_long % {"n": limits.PROVIDER_NAME_MAX}
    if data.service not in {c for c, _l in choices(Service)}:
        errors["service"] = _("Choose one of the options.")
    texts = {"address": data.address.strip(), "hours": data.hours.strip(),
             "phone": data.phone.strip()}
    for field, most in (("address", limits.ADDRESS_MAX), ("hours", limits.HOURS_MAX)):
        if len(texts[field]) > most:
            errors[field] = too_long % {"n": most}
    if texts["phone"] and not limits.phone_ok(texts["phone"]):
        errors["phone"] = _("Enter a phone number: digits, spaces and dots only.")
    for field, value in (("name", name), ("address", texts["address"]),
                         ("hours", texts["hours"])):
        if field not in errors and not limits.text_ok(value):
            errors[field] = _("Remove the invisible control characters from this text.")
    return errors, {"name": name, "service": data.service, **texts,
                    "listed": data.listed == "1"}


async def _providers_page(request: Request, user: SignedIn, form: ProviderIn,
                          errors: dict[str, str], status: int = 200) -> Template:
    rows = await listing_queries.list_providers(user.commune_id or 0, active_only=False)
    for r in rows:
        r["service_label"] = label(Service, r["service"])
    response = page(request, "referrals/providers.html", providers=rows, form=form,
                    errors=errors, services=choices(Service), limits=limits)
    response.status_code = status
    return response


def _id(text: str) -> int:
    """A provider id from the URL; anything that cannot be one is simply not found."""
    pid = db_id(text)
    if pid is None:
        raise NotFoundException()
    return pid


def _form_of(row: dict[str, Any]) -> ProviderIn:
    return ProviderIn(name=row["name"], service=row["service"], address=row["address"],
                      hours=row["hours"], phone=row["phone"], listed="1" if row["listed"] else "")


@get("/referrals/providers", name="providers", include_in_schema=False, opt=OFFICIAL)
async def providers(request: Request, user: SignedIn) -> Template:
    # A new provider is listed on the public page unless the official unticks it.
    return await _providers_page(request, user, ProviderIn(listed="1"), {})


@post("/referrals/providers", name="provider-add", include_in_schema=False, opt=OFFICIAL)
async def add_provider(request: Request, user: SignedIn,
                       data: URLEncodedBody[ProviderIn]) -> Response:
    errors, values = check_provider(data)
    if errors:
        return await _providers_page(request, user, data, errors, 422)
    await listing_queries.create_provider(user, **values)
    return Redirect(path="/referrals/providers", status_code=303)


@get("/referrals/providers/{provider_id:str}", name="provider-edit", include_in_schema=False,
     opt=OFFICIAL)
async def edit_provider(request: Request, user: SignedIn, provider_id: FromPath[str]) -> Template:
    row = await listing_queries.get_provider_for(user, _id(provider_id))
    return page(request, "referrals/provider.html", provider=row, form=_form_of(row),
                errors={}, services=choices(Service), limits=limits)


@post("/referrals/providers/{provider_id:str}", name="provider-update", include_in_schema=False,
      opt=OFFICIAL)
async def update_provider(request: Request, user: SignedIn, provider_id: FromPath[str],
                          data: URLEncodedBody[ProviderIn]) -> Response:
    row = await listing_queries.get_provider_for(user, _id(provider_id))
    errors, values = check_provider(data)
    if errors:
        response = page(request, "referrals/provider.html", provider=row, form=data,
                        errors=errors, services=choices(Service), limits=limits)
        response.status_code = 422
        return response
    await listing_queries.update_provider(user, row["id"], **values)
    return Redirect(path="/referrals/providers", status_code=303)


@post("/referrals/providers/{provider_id:str}/active", name="provider-active",
      include_in_schema=False, opt=OFFICIAL)
async def toggle_provider(user: SignedIn, provider_id: FromPath[str],
                          data: URLEncodedBody[dict[str, str]]) -> Redirect:
    await listing_queries.set_provider_active(user, _id(provider_id), data.get("active") == "1")
    return Redirect(path="/referrals/providers", status_code=303)


route_handlers = [providers, add_provider, edit_provider, update_provider, toggle_provider]
