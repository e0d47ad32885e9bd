"""The offline shell in one answer: the pages the service worker keeps for a signed-in user
(offline home, outbox, blank forms), rendered by their own routes and sent together.

Each shell page repeats the same chrome (head, header, menu, the outbox's translated
strings), and separate answers are compressed separately: five pages cost ~20 KB compressed
one by one, and ~7 KB as one answer. So the worker asks for them once, here, and stores each
page under its own URL as before.

Each page is made by an internal request through the whole app, with the caller's cookies:
the same handler, guards, session, access checks and headers (the CSP among them) as when the
phone asks for the page itself. Only answers that the app itself marks as shell pages (200,
`private, no-cache`: web.cache_control_for) are included, so a page with person data can
never be bundled by mistake.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import HTTPRequestEvent, Message

SHELL_CACHE_CONTROL = "private, no-cache"
# What the kept copy of a page needs to be answered offline as the page was: its type and
# every security header. Not the cookies, the request id, the date or the transfer encoding.
KEPT_HEADERS = ("content-type", "content-security-policy", "x-content-type-options",
                "referrer-policy", "x-frame-options", "content-language", "cache-control", "vary")
# Request headers passed on to a page's internal request: who asks, in which language.
PASSED_HEADERS = (b"cookie", b"host", b"user-agent", b"accept-language")


async def _get(request: Request, url: str) -> tuple[int, dict[str, str], bytes]:
    """GET `url` through the app as the caller would, uncompressed."""
    path, _sep, query = url.partition("?")
    scope: dict[str, Any] = {
        "type": "http", "asgi": request.scope.get("asgi", {"version": "3.0"}),
        "http_version": request.scope.get("http_version", "1.1"), "method": "GET",
        "scheme": request.scope.get("scheme", "http"), "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": "",
        "headers": [(k, v) for k, v in request.scope["headers"] if k.lower() in PASSED_HEADERS],
        "client": request.scope.get("client"), "server": request.scope.get("server"),
        "state": {},
    }
    status = 0
    headers: dict[str, str] = {}
    body: list[bytes] = []

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                headers[k.decode("latin-1").lower()] = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await request.app(scope, receive, send)  # type: ignore[arg-type]
    return status, headers, b"".join(body)


async def render_pages(request: Request, urls: tuple[str, ...]) -> dict[str, Any]:
    """{url: {"headers": {...}, "body": html}} for each of `urls` that answers this caller
    with a shell page; the others (e.g. a form this role may not use) are left out."""
    pages: dict[str, Any] = {}
    for url in urls:
        status, headers, body = await _get(request, url)
        if status != 200 or headers.get("cache-control") != SHELL_CACHE_CONTROL \
                or "content-encoding" in headers:
            continue
        pages[url] = {"headers": {k: v for k, v in headers.items() if k in KEPT_HEADERS},
                      "body": body.decode()}
    return pages
