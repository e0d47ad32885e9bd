"""Training sessions: the list and the commune's setting of who may record them, the form
(full page, or the blank shell the phone caches), its JSON API, and the commune's users'
display names the phone keeps for the form offline."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from schema.enums import State, label
from schema.records import SubmitResult, TrainingSubmit
from server.i18n import _
from server.records import listing_queries
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.forms_web import blank_form, handle_post
from server.training import queries
from server.training.kind import training_context
from server.vntime import today as vn_today
from server.web import BLANK_FORM, CurrentUser, SignedIn, db_id, page

WRITERS = {"roles": ("volunteer", "official")}
OFFICIAL = {"roles": ("official",)}


async def _allowed(user: CurrentUser) -> None:
    if not await queries.may_record_training(user):
        raise PermissionDeniedException(
            _("Your commune has not asked you to record training sessions."))


@get("/training", name="training", include_in_schema=False, opt=WRITERS)
async def training_list(request: Request, user: SignedIn, saved: FromQuery[str] = "") -> Template:
    await _allowed(user)
    commune = user.commune_id or 0
    rows = await queries.list_sessions(commune)
    for r in rows:
        r["state_label"] = label(State, r["state"])
    context: dict[str, Any] = {"sessions": rows, "saved": saved == "1"}
    if user.is_official:
        chosen = set(await queries.list_recorders(commune))
        context["volunteers"] = [
            {**u, "chosen": u["id"] in chosen}
            for u in await queries.list_volunteers(commune)]
    return page(request, "training/list.html", **context)


@post("/training/recorders", name="training-recorders", include_in_schema=False,
      opt=OFFICIAL)
async def training_recorders(request: Request, user: SignedIn) -> Redirect:
    form = await request.form()
    ids = [i for i in (db_id(v) for v in form.getall("user", [])) if i]
    await queries.set_recorders(user, ids)
    return Redirect(path="/training?saved=1", status_code=303)


@get("/training/new", name="training-new", include_in_schema=False,
     opt={**WRITERS, **BLANK_FORM})
async def new_training(request: Request, user: SignedIn, shell: FromQuery[str] = "") -> Response:
    """`?shell=1` is the blank form the service worker caches (no names in it)."""
    await _allowed(user)
    values: dict[str, Any] = {"date": vn_today().isoformat()}
    org = await listing_queries.get_user_organisation(user.id)
    if org:
        values["organisation"] = str(org)
    context = await training_context(user, {**values, "shell": shell})
    return blank_form(request, "training", values, context)


@post("/training", name="training-save", include_in_schema=False, opt=WRITERS)
async def save_training(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "training", training_context)


@post("/api/v1/training", name="api-training", opt=WRITERS, tags=["records"],
      operation_class=submit_operation(TrainingSubmit), responses=RESPONSES, status_code=201,
      summary="Record or correct a training session")
async def api_training(request: Request, user: SignedIn) -> Response[SubmitResult]:
    return await api_submit(request, user, "training")


@get("/api/v1/me/commune-users", name="api-commune-users", opt=WRITERS, tags=["records"],
     summary="Display names of my commune's users (the training form's participants)")
async def commune_users(user: SignedIn) -> dict[str, Any]:
    """Officials and the volunteers allowed to record training; id and name only."""
    await _allowed(user)
    rows = await queries.list_commune_users(user.commune_id or 0)
    return {"users": [{"id": r["id"], "name": r["name"]} for r in rows]}


route_handlers = [training_list, training_recorders, new_training, save_training,
                  api_training, commune_users]
