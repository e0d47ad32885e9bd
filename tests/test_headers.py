"""Headers on every answer (DESIGN §8): `Cache-Control: no-store` unless a route opts in, and
the security headers also on the answers Litestar gives outside a route's middleware — CSRF
refusals, unknown routes and methods, server errors, static files.

The walk takes the routes from the app itself, so a new route is checked without a new test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Response, get
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from tests.conftest import run, sign_in, with_csrf

# The only answers that may be kept by a cache (all person-free), with their header; any
# other 2xx answer, and every error and redirect, is `no-store`.
KEPT = {
    "/static/{file_path:path}": "max-age=31536000, public",
    "/sw.js": "no-cache",
    "/manifest.webmanifest": "no-cache",
    "/app": "private, no-cache",
    "/outbox": "private, no-cache",
    "/p/sw.js": "no-cache",
    "/p/{code:str}": "public, max-age=300",  # the public information page: no person data
    "/p/{code:str}/poster": "public, max-age=300",
}
# Routes that never answer 2xx to a GET by design (each answer is a redirect).
ONLY_REDIRECTS = {"/lang/{code:str}", "/public"}
# Answers only on loopback or with its token, never to a signed-in browser (tests/test_metrics.py).
NOT_FOR_BROWSERS = {"/metrics"}
# The query a page needs to show something rather than a chooser or a 404.
QUERIES = {
    "/reports/compare": "a={report_id}&b={report_id}",
    "/reports/entries": "kind=quarter&year=2026&quarter=1&entries=visit",
}


def assert_security_headers(r: Any, what: str) -> None:
    if r.headers.get("content-type", "").startswith(("application/json",
                                                     "application/manifest+json")):
        assert_not_a_document_headers(r, what)
        assert r.headers.get("content-language") in ("vi", "en"), what
        return
    csp = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, what
    assert "frame-ancestors 'none'" in csp, what
    assert r.headers.get("x-content-type-options") == "nosniff", what
    assert r.headers.get("referrer-policy") in ("same-origin", "no-referrer"), what


def assert_not_a_document_headers(r: Any, what: str) -> None:
    """A JSON answer or a static file: not a document, so no CSP or X-Frame-Options (browsers
    ignore them there); `nosniff` and the referrer policy stay."""
    assert "content-security-policy" not in r.headers, what
    assert "x-frame-options" not in r.headers, what
    assert r.headers.get("x-content-type-options") == "nosniff", what
    assert r.headers.get("referrer-policy") == "same-origin", what


def assert_static_file_headers(r: Any, what: str) -> None:
    """A static file that was found: no Content-Language either."""
    assert_not_a_document_headers(r, what)
    assert "content-language" not in r.headers, what


def assert_refusal(r: Any, status: int, what: str) -> None:
    """An error answer: its status, the security headers and `no-store`."""
    assert r.status_code == status, what
    assert_security_headers(r, what)
    assert r.headers["cache-control"] == "no-store", what


def broken_client(error_page: Any = None) -> TestClient:
    """The app with a route that raises a bug, and optionally an error page that raises too
    (then the test client hands back Litestar's last-resort answer instead of raising)."""
    from server.app import create_app

    @get("/test-only/boom", include_in_schema=False, sync_to_thread=False)
    def boom() -> str:
        raise RuntimeError("a bug")

    broken = create_app()
    if error_page is not None:
        broken.exception_handlers[Exception] = error_page
    broken.register(boom)
    return TestClient(broken, base_url="http://localhost:8000",
                      raise_server_exceptions=error_page is None)


@pytest.fixture
def demo() -> dict[str, Any]:
    """The full demo (people, entries of every kind, a final report) and one real id for
    each path parameter of the app."""
    from server.areas.tables import User
    from server.auth.queries import create_invitation
    from server.demo import load_demo
    from server.people.tables import Person
    from server.records.tables import Entry, Provider
    from server.reports.tables import FinalReport

    ids = run(load_demo())
    ids.update(ids.pop("users"))
    commune = ids["HK"]
    person = run(Person.select(Person.id).where(Person.commune == commune).first())
    referral = run(Entry.select(Entry.id).where(
        (Entry.commune == commune) & (Entry.kind == "referral")).first())
    submitted = run(Entry.select(Entry.id).where(  # bob's: he may still correct it
        (Entry.commune == commune) & (Entry.state == "submitted")
        & (Entry.author == ids["bob"])).first())
    report = run(FinalReport.select(FinalReport.id).first())
    provider = run(Provider.select(Provider.id).where(Provider.commune == commune).first())
    assert person and referral and submitted and report and provider, "the demo lost rows"
    newcomer = run(User.select(User.id).where(User.area == commune).first())["id"]
    ids["params"] = {
        "token": run(create_invitation(newcomer, None)),
        "code": "vi",
        "file_path": "app.css",
        "person_id": str(person["id"]),
        "report_id": str(report["id"]),
        "provider_id": str(provider["id"]),
        "area_code": "HK",
        "path": "openapi.json",
    }
    ids["entry"] = {"referral": str(referral["id"]), "any": str(submitted["id"])}
    return ids


def _url(path: str, demo: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "entry_id":
            return demo["entry"]["referral" if path.startswith("/referrals/") else "any"]
        if name == "code" and path.startswith(("/p/", "/public/")):
            return str(demo["params"]["area_code"])  # an area's code, not a language's
        return str(demo["params"][name])

    url = re.sub(r"\{(\w+):\w+\}", value, path)
    return f"{url}?{QUERIES[path].format(**demo['params'])}" if path in QUERIES else url


def _get_routes(app: Any) -> list[tuple[str, Any]]:
    return [(route.path, handler) for route in app.routes if isinstance(route, HTTPRoute)
            for handler in route.route_handlers if "GET" in handler.http_methods]


def test_every_get_route_is_no_store_unless_it_opts_in(app, demo):
    """Every GET route of the app, as an official, a volunteer, a supervisor and anonymous."""
    routes = _get_routes(app)
    assert len(routes) > 40
    clients = {"anonymous": with_csrf(TestClient(app, base_url="http://localhost:8000"))}
    for persona in ("alice", "bob", "eve"):
        clients[persona] = sign_in(TestClient(app, base_url="http://localhost:8000"),
                                   demo[persona])
    answered: set[str] = set()
    for path, _handler in routes:
        url = _url(path, demo)
        for persona, client in clients.items():
            r = client.get(url, follow_redirects=False)
            what = f"{persona} GET {url} → {r.status_code}"
            assert r.status_code < 500, what
            if path == "/static/{file_path:path}" and 200 <= r.status_code < 300:
                assert_static_file_headers(r, what)
            else:
                assert_security_headers(r, what)
            if 200 <= r.status_code < 300:
                answered.add(path)
                assert r.headers.get("cache-control") == KEPT.get(path, "no-store"), what
            else:
                assert r.headers.get("cache-control") == "no-store", what
    # Every route was seen answering (a route hiding behind 404s everywhere proves nothing).
    never = {p for p, _h in routes} - answered - ONLY_REDIRECTS - NOT_FOR_BROWSERS
    assert not never, f"no persona got a 2xx from: {sorted(never)}"


def test_only_listed_routes_opt_into_caching(app):
    """A route that opts in must be added to KEPT above: a reviewed, person-free page."""
    opted = {path for path, handler in _get_routes(app) if handler.opt.get("cache")}
    assert opted == set(KEPT) | {"/visits/new", "/talks/new", "/referrals/new",
                                 "/training/new", "/counselling/new"}


def test_the_service_workers_shell_pages_opt_in_and_the_filled_forms_do_not(world, as_user):
    from server.app import SW_SHELL
    from server.people.tables import Person
    from tests.factories import make_person

    bob = as_user(world["bob"])
    alice = as_user(world["alice"])  # training and counselling: officials (and listed volunteers)
    for url in SW_SHELL:
        r = (alice if url.startswith(("/training/", "/counselling/")) else bob).get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-cache", url
    # The same forms with the person picker (names of the caseload) are personal.
    pid = run(make_person(world["A"], name="Đinh Thị Hai", team=[world["bob"]]))
    assert run(Person.exists().where(Person.id == pid))
    for url in ("/visits/new", f"/visits/new?person={pid}", "/referrals/new?q=Hai",
                "/visits/new?shell=1&person=1", "/talks/new"):
        r = bob.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", url
    assert "Đinh Thị Hai" in bob.get("/visits/new").text


def test_a_route_cannot_opt_in_by_setting_its_own_header(fresh_db):
    """The policy is the route's `opt`, not what a handler writes: without the opt, even a
    handler asking for public caching answers `no-store`."""
    from server.app import create_app

    @get("/test-only/public", include_in_schema=False, sync_to_thread=False)
    def public() -> Response[str]:
        return Response("x", media_type="text/html",
                        headers={"Cache-Control": "public, max-age=600"})

    test_app = create_app()
    test_app.register(public)
    r = TestClient(test_app, base_url="http://localhost:8000").get("/test-only/public")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_csrf_refusal_has_the_headers(world, as_user):
    alice = as_user(world["alice"])
    del alice.headers["x-csrftoken"]
    r = alice.post("/users", data={"display_name": "X", "role": "volunteer"})
    assert_refusal(r, 403, "CSRF refusal")


def test_unknown_route_and_method_have_the_headers(client):
    assert_refusal(client.get("/no-such-page"), 404, "404")
    assert_refusal(client.delete("/signin"), 405, "405")


def test_unknown_route_speaks_the_chosen_language(client):
    client.cookies.set("lang", "en")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Not found" in r.text
    assert r.headers["content-language"] == "en"


def test_server_error_page_has_the_headers(fresh_db):
    assert_refusal(broken_client().get("/test-only/boom"), 500, "500")


def test_static_files_have_the_headers_and_long_public_caching(client):
    """Scripts, stylesheets and images carry `nosniff` and a year of caching but none of a
    document's headers; a static 404 is an error page and carries them all."""
    from server.web import static_url

    for name in ("app.css", "outbox.js", "vendor/htmx-2.0.11.min.js", "icons/icon-192.png"):
        r = client.get(static_url(name))
        assert r.status_code == 200, name
        assert_static_file_headers(r, name)
        assert r.headers["cache-control"] == "max-age=31536000, public", name
    assert_refusal(client.get("/static/no-such-file.css"), 404, "static 404")
    assert_refusal(client.get("/static/../server/settings.py"), 404, "outside pwa/")


def test_documents_and_the_service_worker_keep_every_security_header(client):
    """What a browser runs as a document or a worker keeps the whole set: the CSP binds the
    service worker's own script as it binds a page."""
    for url in ("/signin", "/sw.js", "/p/sw.js"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert_security_headers(r, url)
        assert r.headers["x-frame-options"] == "DENY", url


def test_rate_limit_refusal_has_the_headers(client):
    from server.settings import settings

    for _ in range(settings.signin_rate_limit):
        client.post("/auth/passkey/login/options")
    assert_refusal(client.post("/auth/passkey/login/options"), 429, "429")


def test_when_even_the_error_page_fails_the_answer_has_the_headers(fresh_db):
    """The last resort: Litestar's own handler for every exception raised too."""

    def failing_error_page(request: Any, exc: Exception) -> Response:
        raise RuntimeError("the error page is broken too")

    r = broken_client(failing_error_page).get("/test-only/boom")
    assert_refusal(r, 500, "500 without an error page")
    assert "Những gì bạn đã lưu trên điện thoại không bị mất" in r.text


def test_a_fragment_for_htmx_carries_no_document_headers_unless_a_cache_may_keep_it(world, as_user):
    """A `no-store` answer to htmx's own request is swapped into the page that asked, under
    that page's CSP: no CSP of its own. The same URL navigated to is a document and has it;
    a shell page asked for by htmx (`private, no-cache`, which a cache may keep and later
    hand to a navigation) keeps it too."""
    bob = as_user(world["bob"])
    fragment = bob.get("/notifications/count", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["cache-control"] == "no-store"
    assert "content-security-policy" not in fragment.headers
    assert fragment.headers["x-content-type-options"] == "nosniff"
    assert fragment.headers["content-language"] == "vi"
    assert_security_headers(bob.get("/notifications/count"), "the same URL, navigated to")
    shell = bob.get("/app", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert shell.headers["cache-control"] == "private, no-cache"
    assert_security_headers(shell, "a shell page asked for by htmx")
    # An error answered to htmx is no-store too: swapped (or not) into the asking page.
    missing = bob.get("/no-such-page", headers={"HX-Request": "true"})
    assert missing.status_code == 404 and "content-security-policy" not in missing.headers
