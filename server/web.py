"""What every page shares: the signed-in user, guards, template helpers, security headers,
locale choice and the translated error pages."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from jinja2 import Environment
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Dependency
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from markupsafe import Markup

from server import assets, errors, i18n, parse
from server.i18n import _
from server.settings import settings

PWA_DIR = assets.PWA_DIR

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


class CurrentUser(msgspec.Struct, frozen=True):
    """The signed-in user as kept in the server-side session (no query per request)."""

    id: int
    role: str
    name: str
    area_id: int
    area_name: str
    area_level: str

    @property
    def commune_id(self) -> int | None:
        return self.area_id if self.area_level == "commune" else None

    @property
    def is_official(self) -> bool:
        return self.role == "official"


def current_user(connection: ASGIConnection) -> CurrentUser | None:
    raw = connection.scope.get("session") or {}
    data = raw.get("user") if isinstance(raw, dict) else None
    if not data:
        return None
    return msgspec.convert(data, CurrentUser)


# Handlers declare `user: SignedIn` to get the signed-in user (an explicit named dependency,
# as Litestar 3 will require).
SignedIn = Annotated[CurrentUser, Dependency(kind="named")]


async def provide_user(request: Request) -> CurrentUser:
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException(_("Please sign in."))
    return user


async def role_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Coarse gate: `opt={"roles": (...)}` on a handler or controller.

    A coroutine although it awaits nothing: Litestar runs a plain-function guard on its
    thread pool, a thread hop on every request of the app (~1 ms of the /healthz profile)."""
    roles = handler.opt.get("roles")
    if not roles:
        return
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException(_("Please sign in."))
    if user.role not in roles:
        raise PermissionDeniedException(_("Your role cannot open this page."))


# ---------------------------------------------------------------- lenient query parameters


def int_or_none(value: str | None) -> int | None:
    """A filter's number from the query string; anything unreadable means "no filter"."""
    return parse.parse_int(value)


def db_id(value: object) -> int | None:
    """A row id from user input, or None (see server.parse: one bounded parser)."""
    return parse.db_id(value)


def date_or_none(value: str | None) -> dt.date | None:
    return parse.parse_date(value)


def optional_module(dotted: str) -> Any | None:
    """Import an area's optional module (routes, home, demo); None when the area has none."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name != dotted:
            raise
        return None


# ---------------------------------------------------------------- static files and templates


def _asset_version(path: str) -> str:
    return assets.version(path)  # a hash of the bytes served (minified), not of the source


def static_url(path: str) -> str:
    """A versioned URL: the file can then be cached for a year and still update at once."""
    return f"/static/{path}?v={_asset_version(path)}"


def template_globals() -> dict[str, Any]:
    return {"static_url": static_url, "get_locale": i18n.get_locale, "settings": settings}


def locale_fragment_global(env: Environment) -> Callable[..., Markup]:
    """`locale_fragment(name, **flags)` for templates: a template whose output depends only on
    the locale and the given flags (never on the user, the request or the CSRF token), rendered
    once per locale and process. The catalogues cannot change under a running server, and
    base.html's outbox words are ~30 translations every page would otherwise look up again."""
    rendered: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Markup] = {}

    def locale_fragment(name: str, **flags: Any) -> Markup:
        key = (name, i18n.get_locale(), tuple(sorted(flags.items())))
        text = rendered.get(key)
        if text is None:
            text = rendered[key] = Markup(env.get_template(name).render(**flags))
        return text

    return locale_fragment


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(request: Request, template: str, partial: str | None = None, **context: Any) -> Template:
    """One URL, full page or fragment: htmx requests get the partial only."""
    name = partial if partial and is_htmx(request) and not request.headers.get("hx-boosted") \
        else template
    context.setdefault("user", current_user(request))
    context.setdefault("request", request)
    return Template(template_name=name, context=context, headers={"Vary": "HX-Request"})


# ---------------------------------------------------------------- middleware


def choose_locale(scope: Scope) -> str:
    headers = dict(scope.get("headers") or [])
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    for part in cookie.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == "lang" and value in i18n.LOCALES:
            return value
    return settings.default_locale


# Every answer is `Cache-Control: no-store` unless its route opts in with `opt={"cache": ...}`
# (and then only for a 2xx answer): a new route is private by default, whatever it sets itself.
STATIC = {"cache": "static"}          # keeps its own header: versioned files, a year, public
REVALIDATE = {"cache": "revalidate"}  # the service worker and manifest: `no-cache`
SHELL = {"cache": "shell"}            # person-free pages the service worker keeps
BLANK_FORM = {"cache": "blank-form"}  # a form: person-free (a shell page) only at `?shell=1`
PUBLIC = {"cache": "public"}          # the public information pages: their own public header

SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
# A static file that is found (a script, a stylesheet, an image) and a JSON answer are never
# documents: browsers ignore a CSP or X-Frame-Options there (the service worker, which does
# obey its own CSP, is /sw.js, not a static file; JSON opened in a tab is shown as text, with
# `nosniff` never run or parsed as HTML). What still matters is `nosniff` (a script is run
# only when its type says so) and the referrer policy (a stylesheet's own requests); JSON
# keeps its Content-Language (its messages are translated). Every other answer, a static 404
# included, is a document or may be shown as one: all of them.
NOT_A_DOCUMENT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)


def _cache_policy(scope: Scope) -> str | None:
    handler = scope.get("route_handler")
    return handler.opt.get("cache") if handler is not None else None


def cache_control_for(scope: Scope, status: int, own: str | None) -> str:
    policy = _cache_policy(scope)
    if policy == "public" and own and (200 <= status < 300 or status == 304):
        return own  # the same for every visitor; a 304 keeps the page's header
    if not 200 <= status < 300:
        return "no-store"  # errors and redirects say who is (not) signed in
    if policy == "static" and own:
        return own
    if policy == "revalidate":
        return "no-cache"
    if policy == "shell" or (policy == "blank-form" and scope.get("query_string") == b"shell=1"):
        return "private, no-cache"
    return "no-store"


def _not_a_document(scope: Scope, headers: MutableScopeHeaders, cache_control: str) -> bool:
    """JSON (and the manifest), or a `no-store` answer to htmx's own request: htmx swaps it
    into the page that asked, under that page's CSP. A browser never sends `HX-Request` on a
    navigation (and another site cannot add it to a request), and `no-store` means no cache
    can later hand the answer to one."""
    if (headers.get("content-type") or "").startswith(("application/json",
                                                        "application/manifest+json")):
        return True
    if cache_control != "no-store":
        return False
    return any(k == b"hx-request" and v == b"true" for k, v in scope.get("headers") or ())


def guard_answers(app: ASGIApp) -> ASGIApp:
    """The outermost ASGI wrapper: the locale, the security headers and the cache policy on
    every HTTP answer.

    It sits outside Litestar's whole stack because some answers never pass through the
    middleware of a route: CSRF refusals (the CSRF middleware raises, and the app-level
    exception handler answers with the original `send`), 404/405 for unknown routes, and
    errors raised by middleware.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        i18n.set_locale(choose_locale(scope))

        sent: dict[str, bool] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["started"] = True
                headers = MutableScopeHeaders.from_message(message)
                cache_control = cache_control_for(
                    scope, message["status"], headers.get("cache-control"))
                static_file = _cache_policy(scope) == "static" and 200 <= message["status"] < 300
                for name, value in NOT_A_DOCUMENT_HEADERS \
                        if static_file or _not_a_document(scope, headers, cache_control) \
                        else SECURITY_HEADERS:
                    headers.setdefault(name, value)  # a page may set its own (enrol: no-referrer)
                if not static_file:
                    headers.setdefault("Content-Language", i18n.get_locale())
                headers["Cache-Control"] = cache_control
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        except Exception:
            if sent.get("started"):
                raise
            # Even the error page failed (Litestar's last handler raised): answer here rather
            # than let the server send a bare 500 without the headers.
            logging.getLogger("donghanh").exception("the error page itself failed")
            start: HTTPResponseStartEvent = {
                "type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]}
            await send_wrapper(start)
            body: HTTPResponseBodyEvent = {
                "type": "http.response.body", "more_body": False, "body": _(
                    "Something went wrong on the server. Nothing you saved on the phone is "
                    "lost; please try again.").encode()}
            await send(body)

    return guarded


# ---------------------------------------------------------------- errors


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/auth/passkey/")) or \
        "application/json" in request.headers.get("accept", "") and \
        "text/html" not in request.headers.get("accept", "")


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return Response({"status_code": status, "detail": message}, status_code=status)
    template = "_error.html" if is_htmx(request) else "error.html"
    return Template(
        template_name=template,
        context={"title": title, "message": message, "status": status,
                 "user": current_user(request), "request": request},
        status_code=status,
    )


def not_authorized_handler(request: Request, exc: NotAuthorizedException) -> Response:
    if wants_json(request):
        return error_page(request, 401, _("Sign-in needed"), _("Please sign in."))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path=f"/signin?next={quote(target)}")


def permission_handler(request: Request, exc: PermissionDeniedException) -> Response:
    message = str(exc.detail)
    if "CSRF" in message:
        message = _("This form has expired. Reload the page and send it again — "
                    "what you typed is kept on this page.")
    elif not message or message == "Forbidden":
        message = _("Your role cannot open this page.")
    return error_page(request, 403, _("Not allowed"), message)


def not_found_handler(request: Request, exc: Exception) -> Response:
    return error_page(request, 404, _("Not found"),
                      _("There is nothing here, or it is not yours to see."))


def domain_error_handler(request: Request, exc: errors.DomainError) -> Response:
    """The one mapping of the project's own errors (`server.errors`) to answers."""
    if isinstance(exc, errors.NotFound):
        return not_found_handler(request, exc)
    if isinstance(exc, errors.Invalid):
        return error_page(request, 422, _("Not valid"), exc.message or _("The request is not valid."))
    return error_page(request, exc.status, _("Not possible now"),
                      exc.message or _("This cannot be done now: the record has changed. "
                                       "Reload the page."))


def validation_handler(request: Request, exc: ValidationException) -> Response:
    errors: dict[str, str] = {}
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors[str(item.get("key") or "_")] = _("This value is not valid.")
    body = {"status_code": 400, "detail": _("The request is not valid."), "errors": errors}
    if wants_json(request):
        return Response(body, status_code=400)
    return error_page(request, 400, _("Not valid"), _("The request is not valid."))


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 429:
        return error_page(request, 429, _("Too many tries"),
                          _("Too many tries. Wait a minute and try again."))
    if status == 405:
        return error_page(request, 405, _("Not allowed"), _("This action is not available here."))
    return error_page(request, status, _("Error"), str(exc.detail))


def server_error_handler(request: Request, exc: Exception) -> Response:
    logging.getLogger("donghanh").exception("unhandled error", exc_info=exc)
    return error_page(request, 500, _("Something went wrong"),
                      _("Something went wrong on the server. Nothing you saved on the phone is "
                        "lost; please try again."))
