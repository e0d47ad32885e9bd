"""No input makes a 5xx: generated requests over the whole app.

Two fuzzers, both in-process (Litestar's TestClient, the real database of the run):

- schemathesis over the OpenAPI document: every documented operation, signed in as a
  volunteer and as an official, with the CSRF header;
- hypothesis over the HTML routes, walked from the app's own route list: path parameters,
  query strings and form bodies built from the names the app reads, with the hostile values
  of DESIGN.md §8 on purpose (odd digits, ids past 2^31 and 2^63, the ends of the calendar,
  JSON nested thousands deep) as well as random text.

A test fails on any 5xx answer and on any error the app logs (a traceback handled into a 500
is logged by `web.server_error_handler`). Examples are bounded and derandomised, so a run is
repeatable and takes well under a minute per engine; `FUZZ_EXAMPLES=500 FUZZ_RANDOM=1` runs a
longer, random search.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from tests.conftest import run, sign_in, with_csrf

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0") or 0)
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
BASE = "http://localhost:8000"
ROOT = Path(__file__).resolve().parent.parent


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=EXAMPLES or examples, deadline=None, database=None,
                    derandomize=not RANDOM, print_blob=True,
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------- hostile values (DESIGN §8)

NUMBERS = ["²", "١٢", "٣", "𝟗", "Ⅻ", "½", "2147483647", "2147483648", "4294967296",
           "9223372036854775807", "9223372036854775808", "99999999999999999999999999", "-1",
           "0", "-2147483649", "-9223372036854775809", "1e400", "NaN", "inf", " 7 ", "+5",
           "0x10", "1_000", "7.0", "07"]
DATES = ["0001-01-01", "9999-12-31", "0000-01-01", "10000-01-01", "2024-02-30", "01/01/0001",
         "31/12/9999", "1-1-1", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
         "9999-12-31T23:59:59.999999+14:00", "0001-01-01T00:00:00-14:00",
         "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T00:00:00+24:00"]
TEXTS = ["", " ", "\x00", "a" * 5000, "<script>alert(1)</script>", "' OR 1=1 --", "%",
         "../../etc/passwd", "null", "[]", "{}", "[" * 5000, "{\"a\":" * 3000, "true",
         "\u202e", "🙂", "đối tượng"]
HOSTILE = NUMBERS + DATES + TEXTS
# The sweep's share: one of each kind of trouble (the random search draws from all of them).
SWEEP = ["²", "١٢", "𝟗", "2147483648", "9223372036854775808", "99999999999999999999999999",
         "-1", "-9223372036854775809", "0", "1e400", " 7 ", "0001-01-01", "9999-12-31",
         "10000-01-01", "31/12/9999", "01/01/0001", "0001-01-01T00:00:00+14:00",
         "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999+14:00",
         "0001-01-01T00:00:00-14:00", "", "\x00", "a" * 5000, "[" * 5000, "{\"a\":" * 3000,
         "đối tượng"]
DEEP_JSON = [b"[" * 5000 + b"]" * 5000, b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
             b'{"records": ' + b"[" * 5000 + b"]" * 5000 + b"}",
             b'{"records": [{"id": "' + str(uuid.uuid4()).encode() + b'", "kind": "visit", '
             b'"data": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}]}"]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40),
                     st.integers().map(str), st.dates().map(str), st.datetimes().map(str))


# ---------------------------------------------------------------- error log capture


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[_Errors]:
    """Every ERROR the app (or Litestar, or a library) logs while a test runs."""
    handler = _Errors()
    loggers = [logging.getLogger(n) for n in ("", "donghanh", "litestar", "uvicorn.error")]
    for log in loggers:
        log.addHandler(handler)
    yield handler
    for log in loggers:
        log.removeHandler(handler)


def _describe(records: list[logging.LogRecord]) -> str:
    out = []
    for r in records[:5]:
        exc = r.exc_info[1] if r.exc_info else None
        out.append(f"{r.name}: {r.getMessage()} {type(exc).__name__ if exc else ''}: {exc}")
    return "\n".join(out)


def _check(response: Any, what: str, errors: _Errors) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code}\n" \
        f"{_describe(errors.records)}\n{response.text[:300]}"
    assert not errors.records, f"{what} logged an error:\n{_describe(errors.records)}"


class Persona:
    """A signed-in user's cookies and CSRF header, sent over the one client that runs the
    app's lifespan (on PostgreSQL: the connection pool, as in production)."""

    def __init__(self, client: TestClient, app: Any, user_id: int) -> None:
        signed = sign_in(with_csrf(TestClient(app, base_url=BASE)), user_id)
        self.client = client
        self.token = str(signed.headers["x-csrftoken"])
        self.cookie = f"session={signed.cookies.get('session')}; csrftoken={self.token}"

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                **kwargs: Any) -> Any:
        self.client.cookies.clear()  # only this persona's cookies, never another's
        return self.client.request(method, url, headers={
            "cookie": self.cookie, "x-csrftoken": self.token, **(headers or {})}, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)


@pytest.fixture
def personas(app: Any, world: dict[str, Any]) -> Iterator[dict[str, Persona]]:
    """The volunteer bob, the official alice and the supervisor eve, signed in the way
    conftest signs clients in (a real server-side session, a CSRF token)."""
    client = TestClient(app, base_url=BASE)
    people = {"volunteer": Persona(client, app, world["bob"]),
              "official": Persona(client, app, world["alice"]),
              "supervisor": Persona(client, app, world["eve"])}
    _forget_sign_in_attempts()
    with client:
        yield people


# ---------------------------------------------------------------- schemathesis over OpenAPI


def _openapi() -> Any:
    from server.app import app

    return schemathesis.openapi.from_dict(app.openapi_schema.to_schema())


OPENAPI = _openapi()
OPERATIONS = {f"{op.method.upper()} {op.path}": op
              for op in (result.ok() for result in OPENAPI.get_all_operations())}


def _send(client: Persona, case: Any) -> Any:
    kw = case.as_transport_kwargs(base_url=BASE)
    headers = {k: v for k, v in kw.get("headers", {}).items()
               if k.lower() not in ("user-agent", "connection", "accept-encoding")}
    body: dict[str, Any] = {}
    if "json" in kw:
        body["content"] = msgspec.json.encode(kw["json"])
    elif "data" in kw:
        body["content"] = kw["data"] if isinstance(kw["data"], bytes) else str(kw["data"])
    return client.request(kw["method"], kw["url"], params=kw.get("params") or None,
                          headers=headers, **body)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_openapi_operations_never_answer_5xx(operation: str, personas: dict[str, Persona],
                                             server_errors: _Errors) -> None:
    """Every documented operation, with bodies, query strings and path parameters generated
    from the document (schemathesis), as a volunteer and as an official."""

    @fuzz_settings(40)
    @given(case=OPERATIONS[operation].as_strategy())
    def run(case: Any) -> None:
        for role in ("volunteer", "official"):
            response = _send(personas[role], case)
            _check(response, f"{role}: {case.method} {case.formatted_path} "
                   f"{case.query} {str(case.body)[:200]}", server_errors)

    run()


# ---------------------------------------------------------------- the HTML routes

# Routes a fuzzer must not call: signing out ends the persona's session for the rest of
# the run (it is tested in test_auth); the schema viewers are Litestar's own.
SKIP = re.compile(r"^/(auth/sign-out|static/|schema|sw\.js|manifest)")
PARAM = re.compile(r"\{(\w+):(\w+)\}")
Route = tuple[str, str, str]  # method, path template, persona


def _routes() -> list[Route]:
    """Every route of the app with a persona its role gate lets in (the volunteer when any
    signed-in user may call it)."""
    from server.app import app

    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or SKIP.match(route.path):
            continue
        for handler in route.route_handlers:
            roles = handler.opt.get("roles") or ("volunteer",)
            persona = next(r for r in ("volunteer", "official", "supervisor") if r in roles)
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                out.append((method, route.path, persona))
    return out


ROUTES = _routes()


def _names() -> list[str]:
    """The names the app reads from query strings and forms: every field of the Structs in
    `schema/` and of the forms' Structs, handler parameters, and the literals the code reads
    with `.get("…")`."""
    names: set[str] = {"id", "version", "recorded_at", "page", "next", "rows", "file"}
    literal = re.compile(r"""\.get(?:all)?\(\s*["']([a-z_]+)["']""")
    for path in [*ROOT.glob("server/**/*.py"), *ROOT.glob("schema/*.py")]:
        if "bench" in path.parts:
            continue
        text = path.read_text()
        names.update(literal.findall(text))
        names.update(re.findall(r"^    ([a-z_]+): ", text, re.M))
    return sorted(n for n in names if len(n) > 1)


NAMES = _names()


def _path(template: str, value: str) -> str:
    def fill(m: re.Match[str]) -> str:
        if m.group(2) == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, value))
        return quote(value[:2000], safe="") or "x"

    return PARAM.sub(fill, template)


def _forget_sign_in_attempts(client: Any = None) -> None:
    """The sign-in rate limit is counted in the database (shared by app processes): the fuzz
    sends far more passkey requests than a person could, so it starts each round afresh.

    Inside a running TestClient the query goes through the client's own event loop: on
    PostgreSQL the app's connection pool belongs to that loop and must not be used from
    another (asyncpg connections are not shared across loops)."""
    from server.auth.tables import SignInAttempts

    async def forget() -> None:
        await SignInAttempts.delete(force=True)

    portal = getattr(client, "blocking_portal", None) if client is not None else None
    if portal is not None:
        portal.call(forget)
    else:
        run(forget())


def _call(client: Persona, method: str, path: str, fields: dict[str, str]) -> Any:
    if path.startswith("/auth/"):  # the sign-in rate limit would answer 429 to the rest
        _forget_sign_in_attempts(client.client)
    if method == "GET":  # a URL carries at most a few kB (servers and proxies cut it there)
        return client.get(path, params={k: v[:4000 // len(fields)] for k, v in fields.items()})
    return client.request(method, path, data=fields)


CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_html_routes_hostile_values(chunk: int, personas: dict[str, Persona],
                                    server_errors: _Errors) -> None:
    """Every hostile value in every name the app reads and in every path parameter, on every
    route: request k gives name i the value SWEEP[(i + k) % n], so n requests per route
    cover each (name, value) pair once. The routes are split in chunks for xdist."""
    assert len(ROUTES) > 40, "the route walk found too few routes"
    for method, template, persona in ROUTES[chunk::CHUNKS]:
        for k, value in enumerate(SWEEP):
            path = _path(template, value)
            fields = {n: SWEEP[(i + k) % len(SWEEP)] for i, n in enumerate(NAMES)}
            response = _call(personas[persona], method, path, fields)
            _check(response, f"{persona}: {method} {path} (round {k})", server_errors)


@fuzz_settings(200)
@given(data=st.data())
def test_html_routes_generated(personas: dict[str, Persona], server_errors: _Errors,
                               data: Any) -> None:
    """Random routes with random subsets of the names, hostile and random values mixed, as
    any persona (a wrong role must get its 403, not a 500)."""
    method, template, _persona = data.draw(st.sampled_from(ROUTES), label="route")
    path = _path(template, data.draw(hostile_text(), label="path"))
    fields = data.draw(st.dictionaries(st.sampled_from(NAMES), hostile_text(), max_size=12),
                       label="fields")
    role = data.draw(st.sampled_from(sorted(personas)), label="role")
    response = _call(personas[role], method, path, fields)
    _check(response, f"{role}: {method} {path} {fields}", server_errors)


def test_json_bodies_nested_deep(app: Any, personas: dict[str, Persona],
                                 server_errors: _Errors) -> None:
    """JSON nested thousands deep into every route that takes a JSON body."""
    posts = [p for m, p, _r in ROUTES if m == "POST" and p.startswith(("/api/", "/auth/passkey/"))]
    assert "/api/v1/sync" in posts
    for template in posts:
        path = _path(template, "1")
        for body in DEEP_JSON:
            for role in ("volunteer", "official"):
                response = personas[role].post(path, content=body,
                                               headers={"content-type": "application/json"})
                _check(response, f"{role}: POST {path} {body[:30]!r}", server_errors)
                _forget_sign_in_attempts(personas[role].client)
                assert response.status_code in (400, 401, 403, 404, 413, 422), \
                    f"{path} {body[:30]!r} -> {response.status_code}"


# ---------------------------------------------------------------- the contracts the fuzz keeps


def test_sync_batch_of_hostile_records_answers_each_and_stores_only_the_good_one(world, as_user):
    """The sync contract holds for hostile records: the batch's answer (200, as documented),
    one outcome per record, and only the well-formed record is written."""
    import datetime as dt

    from server.records.tables import Entry
    from tests.factories import make_person

    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                          start=dt.date(2025, 1, 1)))
    day = (dt.date.today() - dt.timedelta(days=1)).isoformat()

    def record(recorded_at: str = "2026-11-20T02:30:00Z", **over: Any) -> dict[str, Any]:
        data = {"person": pid, "date": day, "visit_kind": "home", "met": True,
                "drug_signs": "none", "risk": "low", "support": ["counselling"], "notes": ""}
        return {"id": str(uuid.uuid4()), "kind": "visit", "version": 1,
                "recorded_at": recorded_at, "data": {**data, **over}}

    batch = [record(), record("9999-12-31T23:59:59-14:00"), record("0001-01-01T00:00:00+14:00"),
             record(notes="a\x00b"), record(date="9999-12-31"), record(date="0001-01-01"),
             record(person=2**31), record(person=2**63), record(person="²"), record(person=-1)]
    r = as_user(world["bob"]).post("/api/v1/sync", json={"records": batch})
    assert r.status_code == 200, r.text
    assert [x["outcome"] for x in r.json()["results"]] == ["stored"] + ["invalid"] * 9
    assert run(Entry.count()) == 1


def test_nul_in_a_form_or_query_is_refused_translated(world, as_user):
    alice = as_user(world["alice"])
    r = alice.get("/audit", params={"person": "a\x00b"})
    assert r.status_code == 400 and "Yêu cầu chứa một ký tự không được phép." in r.text
    r = alice.post("/people/settings", data={"visit_frequency_days": "3\x000"})
    assert r.status_code == 400 and "Yêu cầu chứa một ký tự không được phép." in r.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/people/2147483648"), ("GET", "/people/-1/audit"),
    ("POST", "/users/2147483648/invite"), ("POST", "/users/9223372036854775808/revoke"),
    ("POST", "/users/-9223372036854775809/revoke"),
    ("POST", "/referrals/providers/99999999999999999999999999/active")])
def test_ids_past_the_id_columns_in_paths_are_not_found(world, as_user, method, path):
    """Litestar's `int` path type takes any size: the loaders answer 404 before any query."""
    r = as_user(world["alice"]).request(method, path, data={"active": "1"})
    assert r.status_code == 404
