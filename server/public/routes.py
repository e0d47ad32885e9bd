"""The public page and its poster (no sign-in) and the page's own offline worker (the editor's
routes are `server.public.editor_routes`).

Public answers are the same for every visitor of one language: no session is read, no cookie
is set, and they say so — `Cache-Control: public` with an ETag, and `Vary: Cookie` because the
language comes from the `lang` cookie. The routes carry `opt=web.PUBLIC` for the app's
no-store default (`server.web`) to leave them alone.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import segno
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine

from server import i18n, web
from server.public import content, queries
from server.public.view import page_context, public_url

# Five minutes: an official's published change reaches readers quickly, and a phone that
# reopens the page within that time uses no network at all (after it, a 304 is a few bytes).
MAX_AGE = 300
# Read by the app's no-store default; the other two keep the session and CSRF middleware
# from reading or setting cookies on a page that must be the same for everyone.
PUBLIC = {**web.PUBLIC, "skip_session": True, "exclude_from_csrf": True}


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def cacheable(request: Request, template: str, context: dict[str, Any]) -> Response[bytes]:
    """Render, and answer 304 when the visitor already holds exactly this page.

    The ETag is the hash of the page itself, so it changes with anything on it (an edit, a
    provider's phone, a talk passing, the language) and nothing has to remember to bump it.
    Weak, because the compression middleware may send these bytes gzipped.
    """
    engine = cast(JinjaTemplateEngine, request.app.template_engine)
    html = engine.get_template(template).render(**context)
    body = html.encode()
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "ETag": etag, "Vary": "Cookie"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=body, media_type="text/html", headers=headers)


async def _area_or_404(code: str) -> dict[str, Any]:
    area = await queries.get_public_area(code)
    if area is None:
        raise NotFoundException()
    return area


@get("/p/sw.js", name="public-sw", include_in_schema=False,
     opt={**PUBLIC, **web.REVALIDATE})
async def public_worker() -> Response[bytes]:
    """The page's own service worker; served under /p/ so its scope is the public pages only."""
    return Response((web.PWA_DIR / "public-sw.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})


@get("/p/{code:str}", name="public-page", include_in_schema=False, opt=PUBLIC)
async def public_page(request: Request, code: FromPath[str]) -> Response[bytes]:
    area = await _area_or_404(code)
    context = await page_context(area, await queries.get_published_page(area["id"]))
    return cacheable(request, "public/page.html", context)


@get("/p/{code:str}/poster", name="public-poster", include_in_schema=False, opt=PUBLIC)
async def public_poster(request: Request, code: FromPath[str]) -> Response[bytes]:
    """The A4 poster for notice boards: the offers, the hotline, the page's QR code."""
    area = await _area_or_404(code)
    context = await page_context(area, await queries.get_published_page(area["id"]))
    url = public_url(area["code"])
    context.update(
        url=url, lines=[i18n.gettext(line) for line in content.POSTER_LINES],
        qr=segno.make(url, error="m").png_data_uri(scale=10, border=2, dark="#000"),
        providers=[p for p in context["providers"] if p["phone"]][:4])
    return cacheable(request, "public/poster.html", context)


route_handlers = [public_worker, public_page, public_poster]
