"""Browser-test harness: a real app server in a subprocess and Debian Chromium via Playwright.

`live_server` is one uvicorn process per test worker on a fresh SQLite file with the demo data;
`browser` is one Chromium per worker; `phone` gives each test a new context (360×740) with a
virtual passkey authenticator attached; `enrol(page, name)` creates a real passkey for a demo
user through the enrolment page and lands on the home page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import CHROMIUM_ARGS, ROOT, AppProcess, launch_chromium

__all__ = ["CHROMIUM_ARGS", "LiveServer", "add_authenticator", "enrol", "until"]


def until(page: Any, script: str, arg: Any = None, tries: int = 300,
          timeout: int | None = None) -> Any:
    """Poll `script` (an expression or a function, with `arg`) in the page until it is truthy,
    and return its value. Never `page.wait_for_function`: once its first check is false it polls
    with code it compiles in the page, which the app's CSP (no unsafe-eval) refuses — a test
    that passes or fails with the machine's speed. `page.evaluate` goes through the debugger
    protocol, which the CSP does not govern."""
    for _ in range(timeout // 100 if timeout else tries):
        value = page.evaluate(script, arg)
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


class LiveServer(AppProcess):
    """An app process on 127.0.0.1 with its own SQLite file and the demo data; can be killed
    and restarted."""

    def __init__(self) -> None:
        super().__init__(start_timeout=60)  # a restart after SIGKILL, on a loaded machine
        self.dbdir = Path(tempfile.mkdtemp(prefix="donghanh-live-"))

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
        env.update(SQLITE_PATH=str(self.dbdir / "live.sqlite"), PUBLIC_ORIGIN=self.url,
                   PORT=str(self.port), SECRET_KEY="live-test-secret-" + "y" * 32,
                   PICCOLO_CONF="server.piccolo_conf", SIGNIN_RATE_LIMIT="1000")
        return env

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=self.env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def prepare(self) -> None:
        self.cli("serve-prepare")

    def enrol_link(self, name: str) -> str:
        return self.cli("enrol-link", "--name", name).strip().splitlines()[-1]

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the live database directly (WAL lets us read while the server writes)."""
        import sqlite3

        con = sqlite3.connect(self.dbdir / "live.sqlite", timeout=10)
        try:
            cur = con.execute(query, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    b = launch_chromium(playwright_instance)
    yield b
    b.close()


def add_authenticator(context: Any, page: Any) -> dict[str, Any]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    auth = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return {"cdp": cdp, "id": auth["authenticatorId"]}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context with a virtual passkey authenticator."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    page.authenticator = add_authenticator(context, page)  # type: ignore[attr-defined]
    yield page
    context.close()


def enrol(page: Any, server: LiveServer, name: str) -> None:
    """Create a real passkey for a demo user from an enrolment link; ends on the home page."""
    page.goto(server.enrol_link(name))
    page.click("#passkey-enrol")
    page.wait_for_url(f"{server.url}/", timeout=15000)
