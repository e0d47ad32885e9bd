"""What the first visit's weight (DESIGN §10: ≤ 60 KB, its JavaScript ≤ 30 KB) rests on, apart
from timings: static files served minified and compressed once, under a version that follows
the bytes served; the service worker's shell pages in one answer; nothing precached that the
offline phone does not use.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from typing import Any

import brotli

from server import assets
from server.web import PWA_DIR, static_url
from tests.conftest import run


def _raw(client: Any, url: str, encoding: str = "gzip") -> tuple[Any, bytes]:
    """The answer and its body as sent on the wire (not decompressed by the client)."""
    with client.stream("GET", url, headers={"accept-encoding": encoding}) as r:
        return r, b"".join(r.iter_raw())


def test_first_party_scripts_are_served_minified_under_the_hash_of_the_served_bytes(client):
    source = (PWA_DIR / "outbox.js").read_bytes()
    url = static_url("outbox.js")
    r, wire = _raw(client, url)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    served = gzip.decompress(wire)
    assert url.endswith("?v=" + hashlib.sha256(served).hexdigest()[:10])
    # Comments and indentation are gone; the code is the same code (the browser tests run it).
    first_comment = source.splitlines()[0]
    assert first_comment.startswith(b"// ") and first_comment not in served
    # (Indentation inside a template literal is the string's own, and stays.)
    assert served.count(b"\n  ") < source.count(b"\n  ") / 20 and len(served) < 0.7 * len(source)
    assert b"function flush(" in served and b"donghanh-flush-" in served
    # Compressed once, harder than the per-request level 6 the pages get.
    assert len(wire) <= len(gzip.compress(source, 6)) * 0.7
    # A client that does not accept gzip gets the same bytes, uncompressed.
    plain, body = _raw(client, url, encoding="identity")
    assert "content-encoding" not in plain.headers and body == served


def test_a_browser_that_accepts_brotli_gets_the_smallest_bytes(client):
    for name in ("vendor/htmx-2.0.11.min.js", "outbox.js", "app.css"):
        url = static_url(name)
        plain = _raw(client, url, encoding="identity")[1]
        r, wire = _raw(client, url, encoding="gzip, deflate, br, zstd")  # what Chromium sends
        assert r.status_code == 200 and r.headers["content-encoding"] == "br", name
        assert r.headers["vary"] == "Accept-Encoding"
        assert brotli.decompress(wire) == plain, name
        assert len(wire) < len(_raw(client, url, encoding="gzip")[1]), name
    # A browser that does not say br gets gzip.
    r, wire = _raw(client, static_url("outbox.js"), encoding="gzip, deflate")
    assert r.headers["content-encoding"] == "gzip"


def test_vendored_files_and_images_are_served_as_they_are(client):
    for name in ("vendor/htmx-2.0.11.min.js", "icons/icon-192.png"):
        r = client.get(static_url(name))
        assert r.status_code == 200 and r.content == (PWA_DIR / name).read_bytes(), name
    assert client.get(static_url("icons/icon-192.png")).headers["content-type"] == "image/png"


def test_stylesheets_lose_their_comments_and_indentation_only(client):
    served = client.get(static_url("app.css")).text
    source = (PWA_DIR / "app.css").read_text()
    assert "/*" not in served and "\n  " not in served
    # Every declaration of the source is still there, as written.
    for declaration in re.findall(r"[a-z-]+: [^;{}]+;", re.sub(r"/\*.*?\*/", "", source, flags=re.S)):
        assert declaration in served, declaration


def test_the_version_changes_with_the_served_bytes_and_only_with_them():
    code = b"// Why this file exists.\nfunction a(x) {\n  return x + 1;\n}\n"
    base = assets.build_file("a.js", code)
    assert assets.build_file("a.js", code.replace(b"Why", b"What")).version == base.version
    assert assets.build_file("a.js", code.replace(b"+ 1", b"+ 2")).version != base.version
    assert base.version == hashlib.sha256(base.body).hexdigest()[:10]


def test_a_path_outside_pwa_or_missing_is_a_404(client):
    for url in ("/static/../server/settings.py", "/static/%2e%2e/pyproject.toml",
                "/static/no-such.js", "/static/vendor"):
        assert client.get(url).status_code == 404, url


def _worker_assets(client: Any) -> list[str]:
    source = client.get("/sw.js").text
    match = re.search(r"const ASSETS=(\[[^\]]*\]);", source)
    assert match, "the service worker's precache list"
    urls: list[str] = json.loads(match.group(1))
    return urls


def test_the_worker_precaches_what_the_offline_pages_load_and_no_more(world, as_user, client):
    bob = as_user(world["bob"])
    pages = bob.get("/app/pages").json()
    loaded = {url for page in pages.values()
              for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page["body"])}
    precached = set(_worker_assets(client))
    assert loaded and loaded <= precached
    # The 512-px icons serve only the installation, which happens online.
    assert not [u for u in precached if "512" in u]
    assert "/manifest.webmanifest" in precached


def test_the_shell_pages_come_in_one_answer_each_as_its_own_url_gives_it(world, as_user):
    from server.app import SW_SHELL

    bob = as_user(world["bob"])
    r = bob.get("/app/pages")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    pages = r.json()
    # Exactly the shell pages this user gets from their own URLs (a volunteer of the demo
    # may not open the training and counselling forms: those are left out).
    direct = {url: bob.get(url) for url in SW_SHELL}
    assert set(pages) == {url for url, d in direct.items() if d.status_code == 200}
    assert {"/app", "/outbox", "/visits/new?shell=1"} <= set(pages)
    for url, page in pages.items():
        own = direct[url]
        assert f'data-user="{world["bob"]}"' in page["body"], url
        assert page["headers"]["content-security-policy"] == own.headers["content-security-policy"]
        assert page["headers"]["cache-control"] == "private, no-cache"
        assert page["headers"]["content-type"].startswith("text/html")
        assert "set-cookie" not in page["headers"]
        # The same page, but for what changes on each request (the form's new record id
        # and time, the CSRF token).
        volatile = r'value="[0-9a-f-]{36}"|value="[0-9T:+-]{25}"|[0-9a-f]{96,}'
        assert re.sub(volatile, "", page["body"]) == re.sub(volatile, "", own.text), url


def test_the_shell_pages_need_a_sign_in(client):
    del client.headers["x-csrftoken"]
    r = client.get("/app/pages", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/signin")


def test_a_page_with_person_data_is_never_bundled(world, as_user):
    """The bundle keeps only answers the app marks as shell pages: the filled form (with the
    caseload's names) is `no-store` and stays out even when asked for."""
    from litestar import Request, get
    from litestar.testing import TestClient

    from server import shell
    from server.app import create_app
    from tests.conftest import sign_in, with_csrf
    from tests.factories import make_person

    run(make_person(world["A"], name="Đinh Thị Hai", team=[world["bob"]]))

    @get("/test-only/bundle", include_in_schema=False)
    async def bundle(request: Request) -> dict[str, Any]:
        return await shell.render_pages(request, ("/visits/new", "/app", "/visits/new?shell=1"))

    test_app = create_app()
    test_app.register(bundle)
    bob = sign_in(with_csrf(TestClient(test_app, base_url="http://localhost:8000")), world["bob"])
    assert "Đinh Thị Hai" in bob.get("/visits/new").text
    pages = bob.get("/test-only/bundle").json()
    assert set(pages) == {"/app", "/visits/new?shell=1"}
    assert "Đinh Thị Hai" not in json.dumps(pages, ensure_ascii=False)
