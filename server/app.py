"""The Litestar application: middleware, sessions, CSRF, templates, and each area's routes.

Every routes module (`server/<area>/routes.py`, and an area's further `*_routes.py`) defines
`route_handlers`; `ROUTES` below lists them all, and only here are they mounted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Litestar, Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from server import assets, errors, fmt, i18n, ops, parse, shell, web
from server.areas import routes as areas_routes
from server.audit import routes as audit_routes
from server.auth import routes as auth_routes
from server.auth.store import DatabaseSessionStore, QuietSessionConfig
from server.counselling import routes as counselling_routes
from server.db import db_lifespan
from server.people import io_routes as people_io_routes
from server.people import routes as people_routes
from server.people import transfer_routes as people_transfer_routes
from server.privacy import routes as privacy_routes
from server.public import editor_routes as public_editor_routes
from server.public import routes as public_routes
from server.records import routes as records_routes
from server.referrals import provider_routes as referrals_provider_routes
from server.referrals import routes as referrals_routes
from server.reports import document_routes as reports_document_routes
from server.reports import routes as reports_routes
from server.review import routes as review_routes
from server.settings import settings
from server.sync import routes as sync_routes
from server.talks import routes as talks_routes
from server.training import routes as training_routes
from server.visits import routes as visits_routes

TEMPLATES = Path(__file__).parent / "templates"
ROUTES = (auth_routes, areas_routes, people_routes, people_io_routes, people_transfer_routes,
          records_routes, visits_routes, talks_routes, referrals_routes, referrals_provider_routes,
          training_routes, counselling_routes, review_routes, sync_routes, reports_routes,
          reports_document_routes, audit_routes, public_routes, public_editor_routes,
          privacy_routes)


# Every attribute of a plain dict (its methods and object's): `row.items` in a template is the
# method, as Jinja's own lookup gives it.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _fast_getattr(env: Environment) -> Callable[[Any, str], Any]:
    """Jinja's `obj.name`, the same answer in fewer steps for the rows our queries return.

    Jinja tries `getattr(obj, name)` first and `obj[name]` after: on a dict row, `p.full_name`
    raises and catches an AttributeError before the key is read — ~10 µs each, a few hundred
    per page (the volunteer home's 21 caseload rows read ~350). For a plain dict whose class has
    no such attribute, getattr can only fail, so the key is read at once; anything else takes
    Jinja's own path."""
    generic = env.getattr

    def getattr_(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return env.undefined(obj=obj, name=attribute)
        return generic(obj, attribute)

    return getattr_


def _configure_jinja(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.getattr = _fast_getattr(env)  # type: ignore[method-assign,assignment]
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(web.template_globals())
    env.globals["locale_fragment"] = web.locale_fragment_global(env)
    env.filters.update(fmt.FILTERS)  # dates, times, numbers: one format for every page
    # JSON in pages (form rules) as UTF-8, not \u escapes: fewer bytes; <, >, & and ' are
    # still escaped by Jinja's tojson.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.trim_blocks = True
    env.lstrip_blocks = True
    # Templates ship with the code: a running server never sees one change, so Jinja need not
    # stat each template file on every render to check.
    env.auto_reload = False


# What the offline phone needs. Not passkey.js: a passkey ceremony needs the network anyway,
# and only the sign-in and enrolment pages load it. Not the 512-px icons: only installing the
# app uses them (the browser fetches them then, online); the pages show the 192-px one.
SW_ASSETS = ("app.css", "app.js", "outbox.js", "validate.js", "vendor/htmx-2.0.11.min.js",
             "icons/icon-192.png")
SW_SHELL = ("/app", "/outbox", "/visits/new?shell=1", "/talks/new?shell=1",
            "/referrals/new?shell=1", "/training/new?shell=1", "/counselling/new?shell=1")


@get("/sw.js", include_in_schema=False, name="service-worker", opt=web.REVALIDATE)
async def service_worker() -> Response[str]:
    """The service worker, with the versioned asset list written in: any asset change
    changes this file, so browsers install the new version on their next visit."""
    return Response(_service_worker_source(), media_type="text/javascript",
                    headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


@cache
def _service_worker_source() -> str:
    """Built once per process: the assets cannot change under a running server."""
    urls = [web.static_url(a) for a in SW_ASSETS] + ["/manifest.webmanifest"]
    worker = assets.get("sw.js")
    assert worker is not None, "pwa/sw.js is missing"
    source = worker.body.decode()  # minified, like every script of pwa/
    version = hashlib.sha256((source + "".join(urls) + "".join(SW_SHELL)).encode()) \
        .hexdigest()[:12]
    return source.replace("__VERSION__", version).replace("__ASSETS__", json.dumps(urls)) \
        .replace("__SHELL__", json.dumps(list(SW_SHELL)))


@get("/app/pages", include_in_schema=False, name="shell-pages")
async def shell_pages(request: Request, user: web.SignedIn) -> Response[dict[str, Any]]:
    """The service worker's shell pages for the signed-in user in one answer (server/shell.py);
    `no-store` like any answer: the worker keeps each page under its own URL."""
    return Response(await shell.render_pages(request, SW_SHELL))


def _asset_answer(request: Request, path: str, cache_control: str) -> Response[bytes]:
    """A file of pwa/ as built by server.assets: minified, compressed once. Security headers:
    web.guard_answers."""
    asset = assets.get(path)
    if asset is None:
        raise NotFoundException()
    headers = {"Cache-Control": cache_control}
    body = asset.body
    if asset.gzip is not None:
        headers["Vary"] = "Accept-Encoding"
        accepted = {token.split(";")[0].strip()
                    for token in request.headers.get("accept-encoding", "").split(",")}
        if "br" in accepted and asset.brotli is not None:
            body = asset.brotli
            headers["Content-Encoding"] = "br"
        elif "gzip" in accepted:
            body = asset.gzip
            headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


@get("/static/{file_path:path}", include_in_schema=False, name="static",
     opt={**web.STATIC, "precompressed": True})
async def static_file(request: Request, file_path: FromPath[str]) -> Response[bytes]:
    """A year of caching: the URL carries the hash of these bytes (web.static_url)."""
    return _asset_answer(request, file_path, "max-age=31536000, public")


@get("/manifest.webmanifest", include_in_schema=False, name="manifest",
     opt={**web.REVALIDATE, "precompressed": True})
async def manifest(request: Request) -> Response[bytes]:
    return _asset_answer(request, "manifest.webmanifest", "no-cache")


@get("/healthz", include_in_schema=False, name="health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


class DongHanh(Litestar):
    """Litestar, with `web.guard_answers` around its whole ASGI stack: headers and the cache
    policy on every answer, also those given outside the route middleware (CSRF refusals,
    unknown routes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asgi_handler = web.guard_answers(self.asgi_handler)


def create_app() -> Litestar:
    i18n.load_catalogs()
    session_config = QuietSessionConfig(
        store="sessions", key="session", max_age=settings.session_max_age,
        secure=settings.secure_cookies, httponly=True, samesite="lax",
        renew_on_access=False,
        # Static files, the service worker and the health check never touch the session.
        exclude=["^/static/", "^/sw.js$", "^/manifest.webmanifest$", "^/healthz$"],
    )
    return ops.instrument(DongHanh(  # request ids, JSON logs, /metrics (server/ops.py)
        route_handlers=[service_worker, manifest, health, static_file, shell_pages,
                        *(h for m in ROUTES for h in m.route_handlers)],
        plugins=[HTMXPlugin()],
        guards=[web.role_guard],
        dependencies={"user": Provide(web.provide_user)},
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine,
                                       engine_callback=_configure_jinja),
        middleware=[session_config.middleware],
        before_request=parse.guard_input,
        stores={"sessions": DatabaseSessionStore()},
        csrf_config=CSRFConfig(secret=settings.secret_key, cookie_secure=settings.secure_cookies,
                               cookie_samesite="lax",
                               exclude=["/healthz", "/static/", "/sw.js", "/manifest.webmanifest"]),
        # Static files come compressed already (server/assets.py): `precompressed` in their opt.
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6,
                                             exclude_opt_key="precompressed"),
        openapi_config=OpenAPIConfig(title="Đồng Hành API", version="1", path="/schema"),
        exception_handlers={
            NotAuthorizedException: web.not_authorized_handler,
            PermissionDeniedException: web.permission_handler,
            NotFoundException: web.not_found_handler,
            errors.DomainError: web.domain_error_handler,  # from queries, which know nothing of HTTP
            ValidationException: web.validation_handler,
            HTTPException: web.http_exception_handler,
            Exception: web.server_error_handler,
        },
        lifespan=[db_lifespan],
    ))


app = create_app()
