"""Test harness: a real database per test (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), the personas of STYLE.md, and signed-in clients.

Personas (the demo's base rows): alice — official of commune A (HK); bob and carol —
volunteers in A with separate caseloads; dave — official of commune B (HT); erin — volunteer
in B; eve — supervisor of the province (TH).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_TMP = Path(tempfile.mkdtemp(prefix=f"donghanh-test-{WORKER}-"))
PG_URL = os.environ.get("TEST_DATABASE_URL", "")

if PG_URL:
    import asyncpg

    base, _sep, _db = PG_URL.rpartition("/")
    WORKER_DB = f"test_{WORKER}"

    async def _create_db() -> None:
        conn = await asyncpg.connect(PG_URL)
        await conn.execute(f'DROP DATABASE IF EXISTS "{WORKER_DB}"')
        await conn.execute(f'CREATE DATABASE "{WORKER_DB}"')
        await conn.close()

    asyncio.run(_create_db())
    os.environ["DATABASE_URL"] = f"{base}/{WORKER_DB}"
else:
    os.environ.pop("DATABASE_URL", None)
    os.environ["SQLITE_PATH"] = str(_TMP / "template.sqlite")
os.environ["SECRET_KEY"] = "test-secret-key-" + "x" * 32
os.environ["PUBLIC_ORIGIN"] = "http://localhost:8000"
os.environ["PICCOLO_CONF"] = "server.piccolo_conf"

from litestar.testing import TestClient  # noqa: E402

from server import cli  # noqa: E402
from server.piccolo_conf import DB  # noqa: E402

IS_PG = bool(PG_URL)
_counter = {"n": 0}


def _all_tables() -> list[Any]:
    from piccolo.conf.apps import Finder

    return Finder().get_table_classes()


async def _migrate() -> None:
    await cli.migrate(quiet=True)
    if not PG_URL:
        await DB.checkpoint()
        await DB.close_kept()


asyncio.run(_migrate())


async def _reset() -> None:
    if IS_PG:
        names = ", ".join(t._meta.tablename for t in _all_tables())
        await DB.run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        _counter["n"] += 1
        path = _TMP / f"t{_counter['n']}.sqlite"
        shutil.copyfile(_TMP / "template.sqlite", path)
        await DB.set_path(str(path))


@pytest.fixture(autouse=True)
def fresh_db() -> Any:
    run(_reset())
    yield
    if not IS_PG:
        for f in _TMP.glob(f"t{_counter['n']}.sqlite*"):
            f.unlink(missing_ok=True)


@pytest.fixture
def world(fresh_db: Any) -> dict[str, Any]:
    """The base rows every feature test starts from; ids by persona and area code."""
    from server.demo import load_demo

    ids = run(load_demo(extras=False))
    ids.update(ids.pop("users"))
    ids["A"], ids["B"] = ids["HK"], ids["HT"]
    return ids


@pytest.fixture(scope="session")
def app() -> Any:
    from server.app import create_app

    return create_app()


def run(coro: Any) -> Any:
    """Run a coroutine from a sync test (the DB engine serves any event loop).

    It runs on a worker thread with its own loop, so it also works while Playwright's sync
    API holds an event loop on the main thread.
    """
    async def wait() -> Any:
        return await coro  # coroutines and Piccolo queries alike

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wait()).result()


def sign_in(client: TestClient, user_id: int) -> TestClient:
    """Give a test client a real server-side session for a user, and a CSRF token."""
    from server.auth.queries import get_user_for_session
    from server.auth.store import DatabaseSessionStore

    user = run(get_user_for_session(user_id))
    assert user is not None
    key = secrets.token_hex(16)
    payload = {"user": {"id": user["id"], "role": user["role"], "name": user["display_name"],
                        "area_id": user["area"], "area_name": user["area_name"],
                        "area_level": user["area_level"]}}
    import json

    run(DatabaseSessionStore().set(key, json.dumps(payload).encode(), 3600))
    client.cookies.set("session", key)
    return client


def with_csrf(client: TestClient) -> TestClient:
    client.get("/signin")
    token = client.cookies.get("csrftoken")
    assert token
    client.headers["x-csrftoken"] = token
    return client


# Clients are not entered as context managers: several may be open in one test, and the
# app's lifespan (the PostgreSQL pool) must not start twice; without it Piccolo connects
# per query, which is all a test needs.


@pytest.fixture
def client(app: Any) -> Any:
    return with_csrf(TestClient(app, base_url="http://localhost:8000"))


@pytest.fixture
def as_user(app: Any) -> Any:
    """`as_user(world["bob"])` → a signed-in TestClient with a CSRF header."""

    def make(user_id: int) -> TestClient:
        return sign_in(with_csrf(TestClient(app, base_url="http://localhost:8000")), user_id)

    return make


pytest_plugins = ["tests.browser"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test in a `*_browser.py` file is a browser test, marked or not: it runs once, in the
    Chromium phase of scripts/test, not again on each engine's phase."""
    for item in items:
        if item.path.name.endswith("_browser.py"):
            item.add_marker(pytest.mark.browser)
