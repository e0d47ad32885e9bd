"""The production setup, run for real: the systemd unit's own command (two uvicorn workers) on
PostgreSQL behind Caddy with the shipped Caddyfile and its internal TLS, and in Chromium a
volunteer enrols with a passkey, records a visit offline, comes back online and sees it
received — all through the proxy. Sessions hold across workers; /metrics adds up both.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest

from server import assets
from tests.browser import add_authenticator, until
from tests.conftest import run
from tests.harness import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port
from tests.test_offline_browser import flush_until_empty, wait_outbox

pytestmark = pytest.mark.browser

DEPLOY = ROOT / "scripts" / "deploy"


def _unit() -> tuple[dict[str, str], list[str], list[list[str]]]:
    """Environment=, ExecStart= and ExecStartPre= of scripts/deploy/donghanh.service."""
    env: dict[str, str] = {}
    pre: list[list[str]] = []
    start: list[str] = []
    for line in (DEPLOY / "donghanh.service").read_text().splitlines():
        key, _sep, value = line.partition("=")
        if key == "Environment":
            name, _eq, val = value.partition("=")
            env[name] = val
        elif key == "ExecStartPre":
            pre.append(shlex.split(value))
        elif key == "ExecStart":
            start = shlex.split(value)
    return env, start, pre


def _pg_url(tmp: Path) -> Iterator[str]:
    """A fresh database: on the suite's PostgreSQL when given, else a throwaway cluster."""
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given:
        import asyncpg

        base = given.rpartition("/")[0]
        name = f"prod_{os.getpid()}"

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(given)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
        run(admin(f'CREATE DATABASE "{name}"'))
        yield f"{base}/{name}"
        run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    pgdir = tmp / "pg"
    out = subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "start", str(pgdir),
                          str(free_port())], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(pgdir)], timeout=60)


class Production:
    """Caddy on https://localhost:PORT in front of the unit's uvicorn command."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.app_port = free_port()
        self.origin = f"https://localhost:{self.port}"
        unit_env, self.start_cmd, self.pre = _unit()
        self.env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        self.env.update(unit_env)
        self.env.update(
            WORKERS="2", DATABASE_URL=db_url, PUBLIC_ORIGIN=self.origin,
            SECRET_KEY="production-test-secret-" + "p" * 32, SIGNIN_RATE_LIMIT="1000",
            SQLITE_PATH=str(tmp / "var" / "unused.sqlite"),
            PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"))
        self.app: subprocess.Popen[bytes] | None = None
        self.caddy: subprocess.Popen[bytes] | None = None
        self.log = tmp / "app.log"

    def _local(self, argv: list[str]) -> list[str]:
        """The unit's command with this checkout, this Python and this test's port."""
        out = []
        for arg in argv:
            arg = arg.replace("/opt/donghanh/.venv/bin/python", sys.executable)
            arg = arg.replace("/opt/donghanh/.venv/bin/uvicorn", str(Path(sys.executable).parent
                                                                    / "uvicorn"))
            arg = arg.replace("/opt/donghanh", str(ROOT)).replace("/run/donghanh/metrics",
                                                                  self.env["PROMETHEUS_MULTIPROC_DIR"])
            arg = arg.replace("${WORKERS}", self.env["WORKERS"])
            out.append(arg)
        return out

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT,
                             env=self.env, capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def start(self) -> None:
        for argv in self.pre:  # rm/mkdir the metrics folder, migrate
            assert subprocess.run(self._local(argv), cwd=ROOT, env=self.env,
                                  timeout=180).returncode == 0
        self.cli("serve-prepare")  # the demo rows, for the volunteer's caseload
        cmd = self._local(self.start_cmd)
        assert cmd[cmd.index("--workers") + 1] == "2"
        cmd[cmd.index("--port") + 1] = str(self.app_port)
        cmd[cmd.index("--host") + 1] = "127.0.0.1"
        self.app = subprocess.Popen(cmd, cwd=ROOT, env=self.env,
                                    stderr=self.log.open("wb"), start_new_session=True)
        caddyfile = self.tmp / "Caddyfile"
        caddyfile.write_text(
            "{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n"
            f"\tstorage file_system {self.tmp / 'caddy'}\n"
            f"\thttp_port {free_port()}\n\thttps_port {self.port}\n}}\n"
            f"import {DEPLOY / 'Caddyfile'}\n")
        caddy_env = {**os.environ, "DONGHANH_SITE": self.origin, "DONGHANH_ROOT": str(ROOT),
                     "DONGHANH_UPSTREAM": f"127.0.0.1:{self.app_port}",
                     "HOME": str(self.tmp), "XDG_DATA_HOME": str(self.tmp / "xdg")}
        self.caddy = subprocess.Popen(
            ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env=caddy_env, stdout=subprocess.DEVNULL,
            stderr=(self.tmp / "caddy.log").open("wb"))
        self.wait_ready()

    def get(self, path: str, **headers: str) -> Any:
        context = ssl._create_unverified_context()  # Caddy's internal CA is not trusted here
        req = urllib.request.Request(self.origin + path, headers=headers)
        return urllib.request.urlopen(req, timeout=10, context=context)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("app behind caddy did not start: "
                           + self.log.read_text()[-2000:] + (self.tmp / "caddy.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.caddy is not None:
            self.caddy.terminate()
            self.caddy.wait(timeout=20)
        if self.app is not None:
            os.killpg(self.app.pid, signal.SIGTERM)  # uvicorn's supervisor and its workers
            try:
                self.app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.app.pid, signal.SIGKILL)

    def access_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log.read_text().splitlines():
            if raw.startswith("{"):
                entry = json.loads(raw)
                if entry.get("logger") == "donghanh.access":
                    lines.append(entry)
        return lines

    def sql(self, query: str, *args: Any) -> list[Any]:
        import asyncpg

        async def go() -> list[Any]:
            conn = await asyncpg.connect(self.env["DATABASE_URL"])
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return run(go())  # Playwright holds an event loop on this thread


@pytest.fixture
def production() -> Iterator[Production]:
    if shutil.which("caddy") is None:
        pytest.skip("Debian's caddy is not installed (apt-get install caddy; scripts/test does)")
    tmp = Path(tempfile.mkdtemp(prefix="donghanh-prod-"))
    tmp.chmod(0o755)  # the throwaway cluster runs as the postgres user
    urls = _pg_url(tmp)
    prod = Production(tmp, next(urls))
    try:
        prod.start()
        yield prod
    finally:
        prod.stop()
        next(urls, None)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def https_browser(playwright_instance: Any) -> Iterator[Any]:
    """Chromium that accepts Caddy's internal certificate: `ignore_https_errors` alone lets
    pages load, but Chromium still refuses to register a service worker from an origin whose
    certificate it does not trust."""
    b = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"])
    yield b
    b.close()


def test_passkey_offline_visit_through_caddy_on_two_workers(https_browser, production):
    browser = https_browser
    prod = production
    r = prod.get("/healthz")
    assert r.headers["Strict-Transport-Security"] and r.headers["X-Request-ID"]
    css = prod.get("/static/app.css?v=1", **{"Accept-Encoding": "gzip"})
    assert css.headers["Cache-Control"] == "max-age=31536000, public"
    assert css.headers["Content-Encoding"] == "gzip"
    # Static files are the app's built bytes (minified, compressed once), which Caddy passes
    # on as they are: the phone gets in production what the bench measures.
    js = prod.get("/static/outbox.js?v=1", **{"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert js.headers["Content-Encoding"] == "br"
    assert brotli.decompress(js.read()) == assets.get("outbox.js").body

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                  ignore_https_errors=True)
    try:
        page = context.new_page()
        page.authenticator = add_authenticator(context, page)
        link = prod.cli("enrol-link", "--name", "Nguyễn Văn Bình").strip().splitlines()[-1]
        assert link.startswith(prod.origin)
        page.goto(link)
        page.click("#passkey-enrol")
        page.wait_for_url(f"{prod.origin}/", timeout=20000)
        assert "Nguyễn Văn Bình" in page.inner_text("header")

        (pid,), = [tuple(r) for r in prod.sql(
            "SELECT p.id FROM person p JOIN team_member t ON t.person = p.id JOIN app_user u "
            "ON u.id = t.user WHERE u.display_name = $1 AND t.end_date IS NULL "
            "ORDER BY p.id LIMIT 1", "Nguyễn Văn Bình")]
        wait_outbox(page)
        until(page, "async () => !!(await navigator.serviceWorker.ready).active")
        page.reload()
        wait_outbox(page)
        page.evaluate("window.outbox.flush()")  # brings the caseload onto the phone
        # The blank form in this user's shell cache, whichever cache that is.
        until(page, "async () => !!(await caches.match('/visits/new?shell=1'))", timeout=20000)

        page.context.set_offline(True)
        page.goto(f"{prod.origin}/visits/new?person={pid}")
        wait_outbox(page)
        until(page,
            f"!!document.querySelector('select[name=person] option[value=\"{pid}\"]')")
        page.fill("#visit-form textarea[name=health]", "Khỏe, đi làm đều")
        page.locator("#visit-form button[type=submit]").click()
        page.wait_for_url("**/outbox")
        wait_outbox(page)
        # Saved on the phone (a flush trying the cut network shows "sending" a moment).
        until(page, "async () => (await window.outbox.list()).map(r => r.status).join() "
                    "=== 'saved'")
        page.context.set_offline(False)
        flush_until_empty(page, tries=40)
        assert page.evaluate("async () => (await window.outbox.list()).map(r => r.status)") \
            == ["received"]
        rows = prod.sql("SELECT health FROM entry WHERE person = $1 AND health = $2", pid,
                        "Khỏe, đi làm đều")
        assert len(rows) == 1

        # Sessions are shared by the workers: bursts of signed-in requests, each answered
        # 200, until the access log shows they were answered by both processes.
        pids: set[int] = set()
        for _burst in range(20):
            statuses = page.evaluate(
                "async () => (await Promise.all(Array.from({length: 16}, () =>"
                " fetch('/api/v1/me/caseload', {cache: 'no-store'})))).map(r => r.status)")
            assert statuses == [200] * 16
            pids = {x["pid"] for x in prod.access_lines()
                    if x["route"] == "/api/v1/me/caseload" and x["status"] == 200}
            if len(pids) >= 2:
                break
        assert len(pids) == 2, pids
    finally:
        context.close()

    # /metrics through the proxy from this machine: both workers' figures added up.
    text = prod.get("/metrics").read().decode()
    assert re.search(r'^donghanh_sync_records_total\{outcome="stored"\} 1\.0$', text, re.M)
    pool_max = re.search(r'^donghanh_db_pool_connections\{state="max"\} (\S+)$', text, re.M)
    assert pool_max and float(pool_max.group(1)) == 40.0  # 2 workers × a pool of 20
    served = sum(float(m) for m in re.findall(
        r'^donghanh_requests_total\{method="GET",route="/api/v1/me/caseload",status="200"\} (\S+)$',
        text, re.M))
    assert served == len([x for x in prod.access_lines()
                          if x["route"] == "/api/v1/me/caseload" and x["status"] == 200])
    # Real client addresses reach the app through the proxy headers: a request id per line.
    assert all(x.get("request_id") for x in prod.access_lines())
