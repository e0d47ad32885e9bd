"""A user's entries: "My entries" (filter by kind and state), one entry's page (with a
referral's follow-up timeline and its next-step form), corrections, and the entry API.

Mounted through `server.visits.routes` (the app mounts areas by name; records has no own).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from schema.enums import Kind, RefOutcome, RefStatus, State, choices, label
from schema.forms import form_fields, form_rules, form_values
from schema.records import (
    INPUTS,
    OUTPUTS,
    EntryMeta,
    EntryOut,
    FollowUp,
    ReferralStep,
)
from server.fmt import date
from server.i18n import _
from server.parse import page_number
from server.records import listing_queries
from server.records.contexts import CONTEXTS
from server.records.forms_web import display_rows, envelope, parse_envelope, read_form, render_form
from server.records.kinds import EXTRA
from server.records.queries import NEXT_STEPS, submit_record
from server.rowtext import once
from server.vntime import today as vn_today
from server.web import SignedIn, page

WRITERS = {"roles": ("volunteer", "official")}


@get("/entries", name="entries", include_in_schema=False, opt=WRITERS)
async def my_entries(request: Request, user: SignedIn, kind: FromQuery[str] = "",
                     state_filter: Annotated[str, QueryParameter(name="state")] = "",
                     page_param: Annotated[str, QueryParameter(name="page")] = "") -> Template:
    """A page of the user's entries, newest first; "Older entries" leads to the next page.
    Each row's text is made here, once per distinct kind, state and date (server.rowtext):
    the template only places it."""
    state = state_filter
    page_no = page_number(page_param)
    size = listing_queries.PAGE
    rows = await listing_queries.list_my_entries(user, kind=kind, state=state, limit=size + 1,
                                                 offset=(page_no - 1) * size)
    more = len(rows) > size
    rows = rows[:size]
    kind_text, state_text = once(lambda k: label(Kind, k)), once(lambda s: label(State, s))
    day = once(date)
    for r in rows:
        r["kind_label"] = kind_text(r["kind"])
        r["state_label"] = state_text(r["state"])
        r["day"] = day(r["entry_date"])
        r["editable"] = r["state"] in ("submitted", "returned")
        r["name"] = r["person_name"] or r["contact_alias"] or r["village_name"] or ""
    filters = {k: v for k, v in (("kind", kind), ("state", state)) if v}
    return page(request, "records/entries.html", "records/_entry_rows.html", rows=rows,
                kind=kind, state=state, kinds=choices(Kind), states=choices(State),
                newer_url=f"/entries?{urlencode({**filters, 'page': page_no - 1})}"
                if page_no > 1 else "",
                older_url=f"/entries?{urlencode({**filters, 'page': page_no + 1})}"
                if more else "")


def _names(entry: dict[str, Any]) -> dict[str, str]:
    names = dict(entry.get("_names") or {})  # kinds of server.records.kinds name their own
    if entry.get("person_name"):
        names["person"] = f"{entry['person_name']} · {entry['person_code']}"
    if entry.get("village_name") and entry["kind"] == "talk":
        names["village"] = entry["village_name"]
    if entry.get("provider_name"):
        names["provider"] = entry["provider_name"]
    if entry.get("organisation_name"):
        names["organisation"] = entry["organisation_name"]
    return names


async def _entry_page(request: Request, user: SignedIn, entry_id: uuid.UUID, *,
                      status_values: dict[str, Any] | None = None,
                      status_env: dict[str, Any] | None = None,
                      status_errors: dict[str, str] | None = None,
                      fix: uuid.UUID | None = None,
                      status_code: int = 200) -> Template:
    """An entry's page; for a referral, its timeline and the next-step form — or, with `fix`
    (one of the user's returned or waiting steps), that form prefilled to correct the step."""
    entry = await listing_queries.get_entry_for(user, entry_id)
    data = listing_queries.entry_data(entry)
    context: dict[str, Any] = {
        "entry": entry, "rows": display_rows(entry["kind"], data, _names(entry)),
        "kind_label": label(Kind, entry["kind"]), "state_label": label(State, entry["state"]),
        "editable": entry["author"] == user.id and entry["state"] in ("submitted", "returned"),
        "saved": request.query_params.get("saved") == "1",
    }
    if entry["kind"] == "referral":
        steps = await listing_queries.list_steps(entry)
        for s in steps:
            s["status_label"] = label(RefStatus, s["status"])
            s["outcome_label"] = label(RefOutcome, s["outcome"]) if s["outcome"] else ""
            s["state_label"] = label(State, s["state"]) if s["state"] else ""
        current = entry["ref_status"] or "referred"
        allowed = NEXT_STEPS.get(current, {})
        fixing = next((s for s in steps[1:] if s["id"] == fix and s["author"] == user.id
                       and s["state"] in ("submitted", "returned")), None)
        if fixing is not None or (status_env and int(status_env.get("version") or 1) > 1):
            # A correction may put the step anywhere the chain allows; the server checks.
            allowed = {"received": (), "attended": (),
                       "closed": ("completed", "declined", "no_show", "cancelled")}
        context.update(steps=steps, follow_up_open=bool(allowed), fixing=fixing)
        if allowed:
            values = {"referral": str(entry_id), "date": vn_today().isoformat(),
                      "status": next(iter(allowed))}
            if fixing is not None:
                values.update(status=fixing["status"], outcome=fixing["outcome"] or "",
                              date=fixing["date"].isoformat(), note=fixing["note"] or "")
                status_env = status_env or envelope(fixing["id"], fixing["version"] + 1)
            values.update(status_values or {})
            outcomes = sorted({o for os in allowed.values() for o in os})
            context.update(
                status_fields=form_fields(INPUTS["referral_status"]),
                status_values=form_values(INPUTS["referral_status"], values),
                status_env=status_env or envelope(), status_errors=status_errors or {},
                status_options={"status": [(s, label(RefStatus, s)) for s in allowed],
                                "outcome": [(o, label(RefOutcome, o)) for o in outcomes]},
                status_rules=form_rules(INPUTS["referral_status"], vn_today()),
                today=vn_today().isoformat())
    if entry["kind"] == "referral_status":
        context["referral_id"] = await listing_queries.get_step_referral(entry["id"])
    response = page(request, "records/entry.html", **context)
    response.status_code = status_code
    return response


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFoundException() from None


@get("/entries/{entry_id:str}", name="entry", include_in_schema=False, opt=WRITERS)
async def entry_detail(request: Request, user: SignedIn, entry_id: FromPath[str]) -> Template:
    return await _entry_page(request, user, _uuid(entry_id))


@get("/referrals/{entry_id:str}", name="referral", include_in_schema=False, opt=WRITERS)
async def referral_detail(request: Request, user: SignedIn, entry_id: FromPath[str]) -> Template:
    entry = await listing_queries.get_entry_for(user, _uuid(entry_id))
    if entry["kind"] != "referral":
        raise NotFoundException()
    fix = request.query_params.get("fix")
    return await _entry_page(request, user, entry["id"], fix=_uuid(fix) if fix else None)


@post("/referrals/{entry_id:str}/status", name="referral-status", include_in_schema=False,
      opt=WRITERS)
async def referral_status(request: Request, user: SignedIn, entry_id: FromPath[str]) -> Response:
    ref_id = _uuid(entry_id)
    await listing_queries.get_entry_for(user, ref_id)
    data, env = await read_form(request, "referral_status")
    data["referral"] = str(ref_id)
    record_id, version, recorded_at = parse_envelope(env)
    if record_id is None:
        env, errors = envelope(), {"status": _("This form has expired. Send it again.")}
        return await _entry_page(request, user, ref_id, status_values=data, status_env=env,
                                 status_errors=errors, status_code=422)
    result = await submit_record(user, "referral_status", record_id, version, recorded_at,
                                 data)
    if result.outcome == "forbidden":
        raise NotFoundException()
    if result.outcome in ("stored", "unchanged"):
        return Redirect(path=f"/referrals/{ref_id}?saved=1", status_code=303)
    errors = dict(result.errors) or {"status": _("Someone recorded another step meanwhile.")}
    return await _entry_page(request, user, ref_id, status_values=data, status_env=env,
                             status_errors=errors,
                             status_code=422 if result.outcome == "invalid" else 409)


@get("/entries/{entry_id:str}/edit", name="entry-edit", include_in_schema=False, opt=WRITERS)
async def edit_entry(request: Request, user: SignedIn, entry_id: FromPath[str]) -> Response:
    entry = await listing_queries.get_entry_for(user, _uuid(entry_id))
    if entry["author"] != user.id:
        raise NotFoundException()
    if entry["state"] not in ("submitted", "returned"):
        return await _entry_page(request, user, entry["id"], status_code=409)
    kind = entry["kind"]
    if kind == "referral_status":  # a step is corrected in its referral's follow-up form
        referral = await listing_queries.get_step_referral(entry["id"])
        return Redirect(path=f"/referrals/{referral}?fix={entry['id']}", status_code=303)
    data = listing_queries.entry_data(entry)
    context = await (CONTEXTS[kind] if kind in CONTEXTS else EXTRA[kind].context)(user, data)
    context["title"] = _("Correct: %(what)s") % {"what": label(Kind, kind)}
    context["review_comment"] = entry["review_comment"] if entry["state"] == "returned" else ""
    return render_form(request, kind, values=data, context=context,
                       env=envelope(entry["id"], entry["version"] + 1), errors={})


def _as_input(kind: str, data: dict[str, Any]) -> msgspec.Struct:
    """The stored content as its input Struct; rows older than today's rules (or made
    directly) are shown as they are rather than refused."""
    cls = INPUTS[kind]
    try:
        return msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError:
        names = {f.name: f for f in form_fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        missing = {n: "" for n, f in names.items() if f.required and n not in known}
        return cls(**known, **missing)


@get("/api/v1/entries/{entry_id:uuid}", name="api-entry", opt=WRITERS, tags=["records"],
     summary="One entry as stored (its current version)")
async def api_entry(user: SignedIn, entry_id: FromPath[uuid.UUID]) -> EntryOut:
    entry = await listing_queries.get_entry_for(user, entry_id)
    data = listing_queries.entry_data(entry)
    if entry["kind"] == "referral_status":
        # A step's link to its referral lives in referral_event, not in the entry's columns:
        # its stored version says it whole, as the volunteer sent it.
        data = {k: v for k, v in (await listing_queries.get_entry_data(
            entry["id"], entry["version"])).items() if k != "kind"}
    meta = EntryMeta(id=entry["id"], state=entry["state"], version=entry["version"],
                     receipt=entry["receipt"], author=entry["author"],
                     author_name=entry["author_name"] or "", recorded_at=entry["recorded_at"],
                     received_at=entry["received_at"],
                     review_comment=entry["review_comment"] or "")
    body = _as_input(entry["kind"], data)
    if entry["kind"] != "referral":
        return OUTPUTS[entry["kind"]](meta=meta, data=body)  # type: ignore[call-arg,return-value]
    steps = await listing_queries.list_steps(entry)
    return OUTPUTS["referral"](  # type: ignore[call-arg,return-value]
        meta=meta, data=body, follow_up=FollowUp(
            status=RefStatus(entry["ref_status"] or "referred"),
            outcome=RefOutcome(entry["ref_outcome"]) if entry["ref_outcome"] else None,
            date=entry["ref_status_date"],
            steps=[ReferralStep(status=s["status"], outcome=s["outcome"], date=s["date"],
                                note=s["note"] or "", author=s.get("author", entry["author"]),
                                author_name=s.get("author_name") or "",
                                state=s.get("state")) for s in steps]))


route_handlers = [my_entries, entry_detail, referral_detail, referral_status, edit_entry,
                  api_entry]
