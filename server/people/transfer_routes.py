"""Transfer pages: the first commune's official starts a person's move to another commune
(`/people/{id}/transfer`), the receiving commune's official sees it waiting and accepts or
declines it (`/people/transfers`). Both sides may cancel while it waits. Person data:
no-store; another commune's transfer answers 404."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from server.i18n import _
from server.people import queries, transfer_queries
from server.people.labels import category_label
from server.vntime import today
from server.web import SignedIn, db_id, page

OFFICIAL = {"roles": ("official",)}
NOTE_LIMIT = 500


class TransferIn(msgspec.Struct):
    to_commune: str = ""
    moved_on: str = ""
    note: str = ""


def _private(response: Template, status: int = 200) -> Template:
    response.headers["Cache-Control"] = "no-store"
    response.status_code = status
    return response


async def _check(data: TransferIn, person: dict, communes: list[dict]) -> \
        tuple[dict[str, str], int | None, dt.date | None]:
    """Every field's problem at once (nothing the official typed is lost)."""
    errors: dict[str, str] = {}
    to = db_id(data.to_commune)
    if to is None or to not in {c["id"] for c in communes}:
        errors["to_commune"] = _("Choose the commune the person moves to.")
        to = None
    moved: dt.date | None = None
    try:
        moved = dt.date.fromisoformat(data.moved_on.strip())
    except ValueError:
        errors["moved_on"] = _("Enter a date (day/month/year).")
    if moved is not None:
        earliest = await transfer_queries.earliest_move_day(person["id"])
        if moved > today():
            errors["moved_on"] = _("The date cannot be in the future.")
        elif earliest is not None and moved <= earliest:
            errors["moved_on"] = _("The move must come after %(date)s (the start of support "
                                   "or the last move).") % {"date": f"{earliest:%d/%m/%Y}"}
    if len(data.note) > NOTE_LIMIT:
        errors["note"] = _("At most %(n)s characters.") % {"n": NOTE_LIMIT}
    if person["status"] != "active":
        errors["_"] = _("Support for this person has ended; there is nothing to transfer.")
    return errors, to, moved


async def _form(request: Request, user: SignedIn, person: dict, data: TransferIn,
                errors: dict[str, str], status: int = 200) -> Template:
    communes = await transfer_queries.list_destination_communes(person["commune"])
    waiting = await transfer_queries.get_open_transfer(person["id"])
    return _private(page(request, "people/transfer.html", person=person, form=data,
                         errors=errors, communes=communes, waiting=waiting,
                         today=today()), status)


@get("/people/{person_id:int}/transfer", name="person-transfer-form", include_in_schema=False,
     opt=OFFICIAL)
async def transfer_form(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person = await queries.get_person_for(user, person_id)
    return await _form(request, user, person, TransferIn(moved_on=today().isoformat()), {})


@post("/people/{person_id:int}/transfer", name="person-transfer-start",
      include_in_schema=False, opt=OFFICIAL)
async def transfer_start(request: Request, user: SignedIn, person_id: FromPath[int],
                         data: URLEncodedBody[TransferIn]) -> Template | Redirect:
    person = await queries.get_person_for(user, person_id)
    communes = await transfer_queries.list_destination_communes(person["commune"])
    errors, to, moved = await _check(data, person, communes)
    if not errors and to is not None and moved is not None:
        try:
            await transfer_queries.start_transfer(actor_id=user.id, person=person, to_commune=to,
                                           moved_on=moved, note=data.note.strip())
            return Redirect(path=f"/people/{person_id}?saved=1", status_code=303)
        except transfer_queries.TransferError:
            errors["_"] = _("A transfer of this person is already waiting for the other "
                            "commune.")
        except Exception as exc:  # two officials at once: the partial unique index
            if "unique" not in str(exc).lower():
                raise
            errors["_"] = _("A transfer of this person is already waiting for the other "
                            "commune.")
    return await _form(request, user, person, data, errors, 422)


@get("/people/transfers", name="person-transfers", include_in_schema=False, opt=OFFICIAL)
async def transfer_list(request: Request, user: SignedIn) -> Template:
    if user.commune_id is None:
        raise NotFoundException()
    lists = await transfer_queries.list_transfers(user.commune_id)
    return _private(page(request, "people/transfers.html", category_label=category_label,
                         error=request.query_params.get("error", ""),
                         incoming=lists["incoming"], outgoing=lists["outgoing"],
                         decided=lists["decided"]))


async def _decide(user: SignedIn, transfer_id: int, accept: bool) -> Redirect:
    if user.commune_id is None or db_id(transfer_id) is None or \
            await transfer_queries.get_transfer_for(user.commune_id, transfer_id) is None:
        raise NotFoundException()
    try:
        if accept:
            await transfer_queries.accept_transfer(actor_id=user.id, commune_id=user.commune_id,
                                            transfer_id=transfer_id)
        else:
            await transfer_queries.cancel_transfer(actor_id=user.id, commune_id=user.commune_id,
                                            transfer_id=transfer_id)
    except transfer_queries.TransferError:
        return Redirect(path="/people/transfers?error=decided", status_code=303)
    return Redirect(path="/people/transfers?saved=1", status_code=303)


@post("/people/transfers/{transfer_id:int}/accept", name="person-transfer-accept",
      include_in_schema=False, opt=OFFICIAL)
async def transfer_accept(user: SignedIn, transfer_id: FromPath[int]) -> Redirect:
    return await _decide(user, transfer_id, accept=True)


@post("/people/transfers/{transfer_id:int}/cancel", name="person-transfer-cancel",
      include_in_schema=False, opt=OFFICIAL)
async def transfer_cancel(user: SignedIn, transfer_id: FromPath[int]) -> Redirect:
    return await _decide(user, transfer_id, accept=False)


route_handlers = [transfer_form, transfer_start, transfer_list, transfer_accept,
                  transfer_cancel]
