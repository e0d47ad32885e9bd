"""`scripts/bench`: measure DESIGN §10's budgets on a generated dataset and print one table,
each figure beside its budget and its ratio to it. Never a test: it only prints figures (and
writes them as JSON to bench-results/<timestamp>-<engine>-<scale>.json).

It serves the app with its own uvicorn process on 127.0.0.1 (a free port), on a copy of a
cached generated SQLite file (var/bench/<scale>-s<seed>-v<DATA_VERSION>.sqlite) or, with
--postgres, on a throwaway PostgreSQL cluster it starts, generates into and removes. --both
runs SQLite, then PostgreSQL, and prints the two side by side in one table. Each measurement
whose route does not exist yet prints "n/a (route missing)". Every load stays on loopback and
is bounded in requests and in time.

Ratios are always figure ÷ budget, so a "≤" budget is met at ≤ 1.00 and a "≥" budget at
≥ 1.00; the mark beside each ratio says which (✓ met, ✗ missed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.harness import CHROMIUM, AppProcess, free_port, launch_chromium

ROOT = Path(__file__).resolve().parent.parent.parent
PY = sys.executable
VAR = ROOT / "var" / "bench"
CONCURRENCY = (1, 8, 32)
REPORT_YEAR = 2026  # the generated data ends on 2026-11-20 (generate.ANCHOR)
SECRET = "bench-secret-" + "x" * 40


logging.getLogger("httpx").setLevel(logging.WARNING)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the database and the server


class Database:
    """The dataset the server runs on: a copy of the cached SQLite file, or a throwaway
    PostgreSQL cluster generated into."""

    def __init__(self, scale: str, seed: int, postgres: bool) -> None:
        self.scale, self.seed, self.postgres = scale, seed, postgres
        self.env: dict[str, str] = {}
        self.generate_seconds: float | None = None
        self._cleanup: list[Any] = []

    def _generate(self, env: dict[str, str]) -> None:
        began = time.perf_counter()
        subprocess.run([PY, "-m", "tests.bench.generate", "--scale", self.scale, "--seed",
                        str(self.seed)], env={**os.environ, **env}, cwd=ROOT, check=True,
                       stdout=sys.stderr)
        self.generate_seconds = time.perf_counter() - began

    def start(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        if self.postgres:
            pgdir = Path(f"/tmp/donghanh-bench-pg-{os.getpid()}")
            port = free_port()
            out = subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "start", str(pgdir),
                                  str(port)], check=True, capture_output=True, text=True)
            self._cleanup.append(lambda: subprocess.run(
                [str(ROOT / "scripts" / "pg-throwaway"), "stop", str(pgdir)], check=False))
            url = out.stdout.strip().splitlines()[-1]
            self.env = {"DATABASE_URL": url}
            log(f"PostgreSQL on 127.0.0.1:{port}; generating the {self.scale} dataset ...")
            self._generate(self.env)
            return
        from tests.bench.generate import DATA_VERSION

        cached = VAR / f"{self.scale}-s{self.seed}-v{DATA_VERSION}.sqlite"
        if not cached.exists():
            tmp = VAR / f"{self.scale}-s{self.seed}-v{DATA_VERSION}.tmp.sqlite"
            for f in VAR.glob(tmp.name + "*"):
                f.unlink()
            log(f"Generating the {self.scale} dataset into {cached} (cached for later runs) ...")
            self._generate({"SQLITE_PATH": str(tmp)})
            tmp.rename(cached)
        work = VAR / f"run-{os.getpid()}.sqlite"
        shutil.copyfile(cached, work)

        def remove() -> None:
            for f in VAR.glob(work.name + "*"):
                f.unlink()

        self._cleanup.append(remove)
        self.env = {"SQLITE_PATH": str(work)}
        # The cached file has the schema of the day it was generated: the migrations made
        # since (new indexes, tables) are run on the copy, as a deployment would run them.
        env = {**os.environ, **self.env}
        env.pop("DATABASE_URL", None)
        subprocess.run([PY, "-m", "server.cli", "migrate"], env=env, cwd=ROOT, check=True,
                       stdout=sys.stderr)

    @property
    def engine_name(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def stop(self) -> None:
        for fn in reversed(self._cleanup):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - cleanup must go on
                log(f"cleanup: {exc}")


class Server(AppProcess):
    """The app (or the bare endpoint) under measurement; its log is kept when it holds a
    traceback."""

    def __init__(self, env: dict[str, str], target: str = "server.app:app",
                 workers: int = 1) -> None:
        port = free_port()
        super().__init__(env, target, port=port, log=VAR / f"server-{os.getpid()}-{port}.log",
                         workers=workers)
        self.base = self.url

    def stop(self) -> None:
        super().stop()
        if self.log_path and self.log_path.exists() and not self.has_errors():
            self.log_path.unlink()

    def has_errors(self) -> bool:
        return bool(self.log_path and self.log_path.exists()
                    and b"Traceback" in self.log_path.read_bytes())


# ---------------------------------------------------------------- who the bench signs in as


async def _pick_people() -> dict[str, Any]:
    """A typical volunteer (the median caseload of the first commune), their commune's
    official, the province supervisor, and a person of the volunteer's caseload."""
    from server.areas.tables import Area, User

    province = await Area.select(Area.id).where(Area.level == "province").first()
    commune = await Area.select(Area.id).where(Area.level == "commune").order_by(Area.id).first()
    assert province and commune, "the dataset has no province or commune"
    rows = await User.raw(
        'SELECT tm."user" AS uid, count(*) AS n FROM team_member tm '
        "JOIN person p ON p.id = tm.person WHERE tm.end_date IS NULL AND p.commune = {} "
        'GROUP BY tm."user" ORDER BY n, uid', commune["id"])
    volunteer = int(rows[len(rows) // 2]["uid"])
    caseload = await User.raw(
        'SELECT tm.person AS pid FROM team_member tm WHERE tm."user" = {} '
        "AND tm.end_date IS NULL ORDER BY tm.person", volunteer)
    official = await User.select(User.id).where(
        (User.area == commune["id"]) & (User.role == "official")).first()
    # What an official types into the register's search: the given name of a person of the
    # commune (a common word, so the search has several matches to list).
    from server.people.tables import Person

    named = await Person.select(Person.full_name).where(Person.commune == commune["id"]) \
        .order_by(Person.id).first()
    search = named["full_name"].split()[-1] if named else "a"
    supervisor = await User.select(User.id).where(User.role == "supervisor").first()
    assert official and supervisor
    return {"province": province["id"], "commune": commune["id"], "volunteer": volunteer,
            "official": official["id"], "supervisor": supervisor["id"],
            "caseload": [int(r["pid"]) for r in caseload], "caseload_size": len(caseload),
            "search": search}


async def _session_for(user_id: int) -> str:
    """A real server-side session, made the way tests/conftest.py sign_in makes one."""
    import secrets

    from server.auth.queries import get_user_for_session
    from server.auth.store import DatabaseSessionStore

    user = await get_user_for_session(user_id)
    assert user is not None
    key = secrets.token_hex(16)
    payload = {"user": {"id": user["id"], "role": user["role"], "name": user["display_name"],
                        "area_id": user["area"], "area_name": user["area_name"],
                        "area_level": user["area_level"]}}
    await DatabaseSessionStore().set(key, json.dumps(payload).encode(), 6 * 3600)
    return key


async def prepare_identities() -> dict[str, Any]:
    who = await _pick_people()
    who["sessions"] = {role: await _session_for(who[role])
                       for role in ("volunteer", "official", "supervisor")}
    from server.piccolo_conf import DB

    close = getattr(DB, "close_kept", None)
    if close is not None:
        await close()
    return who


def route_paths() -> set[str]:
    from server.app import app

    return {r.path for r in app.routes}


# ---------------------------------------------------------------- measurements


class Bench:
    def __init__(self, server: Server, bare: Server, db: Database, who: dict[str, Any],
                 quick: bool) -> None:
        self.server, self.bare, self.db, self.who, self.quick = server, bare, db, who, quick
        self.routes = route_paths()
        self.rows: list[dict[str, Any]] = []  # key, figure, budget, ratio, within
        self.data: dict[str, Any] = {}
        self.report_path = "/reports/view" if self.has("/reports/view") else "/reports"

    # -- helpers

    def has(self, path: str) -> bool:
        return path in self.routes

    def add(self, key: str, figure: str, budget: str = "", ratio: float | None = None,
            within: bool | None = None) -> None:
        """One row of the table. `key` names the row the same way on both engines (the
        side-by-side table joins on it); `ratio` is figure ÷ budget; `within` whether the
        budget is met (None: no budget, or nothing measured)."""
        self.rows.append({"key": key, "figure": figure, "budget": budget, "ratio": ratio,
                          "within": within})
        log(f"  {key}: {figure}")

    def cookies(self, role: str | None) -> dict[str, str]:
        return {"session": self.who["sessions"][role]} if role else {}

    def csrf(self, role: str) -> dict[str, str]:
        import httpx

        response = httpx.get(f"{self.server.base}/signin", cookies=self.cookies(role))
        token = response.cookies.get("csrftoken") or ""
        return {"csrftoken": token}

    def visit_data(self, n: int) -> dict[str, Any]:
        caseload = self.who["caseload"] or [1]
        day = dt.date(2026, 11, 1) + dt.timedelta(days=n % 19)
        return {"person": caseload[n % len(caseload)], "date": day.isoformat(),
                "visit_kind": "home", "met": True, "health": "Ổn định", "work": "Làm ruộng",
                "family": "", "drug_signs": "none", "methadone": "na",
                "support": ["counselling"], "risk": "low", "next_step": "Thăm lại tháng sau",
                "next_visit_date": None, "notes": ""}

    # -- 1. compression and caching

    def check_headers(self) -> None:
        import httpx

        from server.web import static_url

        base = self.server.base
        css = httpx.get(base + static_url("app.css"), headers={"accept-encoding": "gzip"})
        home = httpx.get(base + "/", headers={"accept-encoding": "gzip"},
                         cookies=self.cookies("volunteer"))
        info = {"static_url": static_url("app.css"), "static_status": css.status_code,
                "static_encoding": css.headers.get("content-encoding", ""),
                "static_cache_control": css.headers.get("cache-control", ""),
                "home_status": home.status_code,
                "home_encoding": home.headers.get("content-encoding", "")}
        self.data["headers"] = info
        ok_cache = "max-age=31536000" in info["static_cache_control"]
        self.add("static files: Cache-Control of a versioned URL",
                 info["static_cache_control"] or "none", "max-age 1 year", within=ok_cache)
        self.add("compression (app.css / home page)",
                 f"{info['static_encoding'] or 'none'} / {info['home_encoding'] or 'none'}",
                 "gzip or br", within=bool(info["static_encoding"] and info["home_encoding"]))

    # -- 2. page weight in Chromium

    def page_weight(self) -> None:
        if not Path(CHROMIUM).exists():
            self.add("first visit, everything, compressed", f"n/a (no {CHROMIUM})", "≤ 60 KB")
            return
        from playwright.sync_api import sync_playwright

        visit_form = "/visits/new" if self.has("/visits/new") else None
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                context = browser.new_context()
                sw: list[list[Any]] = []  # the service worker's own network requests

                def on_finished(request: Any) -> None:
                    if request.service_worker is not None:
                        sizes = request.sizes()
                        sw.append([request.url, _kind_of_url(request.url),
                                   sizes["responseBodySize"] + sizes["responseHeadersSize"]])

                context.on("requestfinished", on_finished)
                page = context.new_page()
                first = self._measure(context, page, visit_form, first=True, sw=sw)
                page.close()
                page = context.new_page()
                repeat = self._measure(context, page, visit_form, first=False, sw=sw)
                self.data["page_weight"] = {"first": first, "repeat": repeat,
                                            "visit_form": visit_form}
                kb = 1024
                total = first["total"]
                self.add("first visit (sign-in → home → visit form), everything, compressed",
                         f"{total / kb:.1f} KB in {first['network_requests']} requests",
                         "≤ 60 KB", total / (60 * kb), total <= 60 * kb)
                self.add("… by kind: HTML / CSS / JS / JSON / other",
                         " / ".join(f"{first[k] / kb:.1f}" for k in
                                    ("html", "css", "js", "data", "other")) + " KB")
                self.add("… of which through the service worker: page navigations / offline "
                         "shell pages / precache",
                         " / ".join(f"{first[k] / kb:.1f}" for k in (
                             "sw_navigation_bytes", "sw_shell_bytes", "sw_precache_bytes"))
                         + " KB")
                self.add("first visit, JavaScript, compressed", f"{first['js'] / kb:.1f} KB",
                         "≤ 30 KB", first["js"] / (30 * kb), first["js"] <= 30 * kb)
                self.add("… JavaScript by file (KB, with headers)", ", ".join(
                    f"{name} {size / kb:.1f}" for name, size in _js_by_file(first["urls"])))
                if not visit_form:
                    self.add("visit form", "n/a (route missing: /visits/new)")
                self.add("repeat visit, static bytes from the network",
                         f"{repeat['static_network']} B", "0",
                         within=repeat["static_network"] == 0)
                self.drain(context)
            finally:
                browser.close()

    def _measure(self, context: Any, page: Any, visit_form: str | None,
                 first: bool, sw: list[list[Any]]) -> dict[str, Any]:
        sw.clear()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        seen: dict[str, dict[str, Any]] = {}

        def on_response(ev: dict[str, Any]) -> None:
            r = ev["response"]
            seen.setdefault(ev["requestId"], {})
            seen[ev["requestId"]].update(
                type=ev.get("type", "Other"), url=r.get("url", ""),
                cached=bool(r.get("fromDiskCache") or r.get("fromServiceWorker")
                            or r.get("fromPrefetchCache")))

        def on_finished(ev: dict[str, Any]) -> None:
            seen.setdefault(ev["requestId"], {})["bytes"] = ev.get("encodedDataLength", 0)

        def on_cached(ev: dict[str, Any]) -> None:
            seen.setdefault(ev["requestId"], {})["memory_cache"] = True

        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        cdp.on("Network.requestServedFromCache", on_cached)
        base = self.server.base

        def settle() -> None:
            # Not Playwright's "networkidle": a few of the service worker's requests never
            # report their end to it, so it waits forever. Quiet = nothing new for 1.5 s.
            last, quiet_since, began = -1, time.monotonic(), time.monotonic()
            while time.monotonic() - began < 30:
                count = len(seen) + len(sw)
                if count != last:
                    last, quiet_since = count, time.monotonic()
                elif time.monotonic() - quiet_since >= 1.5:
                    return
                page.wait_for_timeout(100)

        if first:
            page.goto(base + "/signin", wait_until="load")
            settle()
            context.add_cookies([{"name": "session", "value": self.who["sessions"]["volunteer"],
                                  "url": base}])
        page.goto(base + "/", wait_until="load")
        settle()
        if visit_form:
            page.goto(base + visit_form, wait_until="load")
            settle()
        if first:
            try:  # let the service worker install, so the repeat visit can use it
                page.evaluate("navigator.serviceWorker ? Promise.race([navigator.serviceWorker"
                              ".ready, new Promise(r => setTimeout(r, 10000))]) : null")
            except Exception:  # noqa: BLE001 - a page without a service worker is fine
                pass
            page.wait_for_timeout(1000)
        else:
            page.wait_for_timeout(500)
        cdp.detach()
        out: dict[str, Any] = {"html": 0, "css": 0, "js": 0, "data": 0, "other": 0, "total": 0,
                               "requests": 0, "network_requests": 0, "static_network": 0,
                               "sw_requests": 0, "sw_bytes": 0, "sw_navigation_bytes": 0,
                               "sw_shell_bytes": 0, "sw_precache_bytes": 0, "urls": []}
        documents = {item.get("url") for item in seen.values() if item.get("type") == "Document"}
        for item in seen.values():
            url = item.get("url", "")
            if not url.startswith("http"):
                continue  # data: URLs cost nothing on the network
            size = int(item.get("bytes", 0))
            kind = item.get("type", "Other")
            key = {"Document": "html", "Stylesheet": "css", "Script": "js", "Fetch": "data",
                   "XHR": "data"}.get(kind, "other")
            out[key] += size
            out["total"] += size
            out["requests"] += 1
            out["network_requests"] += size > 0
            if kind in ("Stylesheet", "Script", "Image", "Font", "Manifest") and \
                    not item.get("cached") and not item.get("memory_cache"):
                out["static_network"] += size
            out["urls"].append([url[len(base):], kind, size])
        for url, key, size in list(sw):  # fetched by the service worker over the network
            out[key] += size
            out["total"] += size
            out["requests"] += 1
            out["network_requests"] += size > 0
            out["sw_requests"] += 1
            out["sw_bytes"] += size
            # The worker's requests are of three sorts: the page's own navigations, which it
            # passes on to the network; the signed-in user's offline shell pages; its precache.
            sort = "sw_navigation_bytes" if url in documents else \
                "sw_shell_bytes" if key == "html" else "sw_precache_bytes"
            out[sort] += size
            if key in ("css", "js", "other") and "/static/" in url:
                out["static_network"] += size
            out["urls"].append([url[len(base):], "sw:" + key, size])
        return out

    # -- 3. drain a 500-record outbox in Chromium

    def drain(self, context: Any) -> None:
        if not (ROOT / "pwa" / "outbox.js").exists():
            self.add("500-record outbox drained in Chromium", "n/a (pwa/outbox.js missing)",
                     "≤ 15 s")
            return
        if not self.has("/api/v1/sync"):
            self.add("500-record outbox drained in Chromium",
                     "n/a (route missing: /api/v1/sync)", "≤ 15 s")
            return
        count = 100 if self.quick else 500
        page = context.new_page()
        try:
            page.goto(self.server.base + "/", wait_until="load")
            if not page.evaluate("!!(window.outbox && window.outbox.add)"):
                page.wait_for_timeout(2000)
            if not page.evaluate("!!(window.outbox && window.outbox.add)"):
                self.add("500-record outbox drained in Chromium",
                         "n/a (window.outbox not on the home page)", "≤ 15 s")
                return
            context.set_offline(True)
            records = [self.visit_data(10_000 + i) for i in range(count)]
            page.evaluate("async (rs) => { for (const r of rs) await window.outbox.add("
                          "'visit', r); }", records)
            waiting = page.evaluate("window.outbox.count()")
            context.set_offline(False)
            began = time.perf_counter()
            left = waiting
            while left and time.perf_counter() - began < 120:
                left = page.evaluate("async () => { await window.outbox.flush(); "
                                     "return await window.outbox.count(); }")
            seconds = time.perf_counter() - began
            statuses = page.evaluate("async () => { const c = {}; for (const r of await "
                                     "window.outbox.list()) c[r.status] = (c[r.status]||0)+1; "
                                     "return c; }")
            self.data["drain"] = {"records": count, "queued": waiting, "left": left,
                                  "seconds": seconds, "statuses": statuses}
            label = "500-record outbox drained in Chromium"
            if left:
                self.add(label, f"{left} of {waiting} left after {seconds:.0f} s: did not "
                         f"drain ({statuses})", "≤ 15 s", within=False)
            else:
                # --quick drains 100 records: the figure is scaled to 500 (and says so).
                scaled = seconds * 500 / count
                figure = f"{scaled:.1f} s" + (f" (100 in {seconds:.1f} s, ×5)"
                                              if count != 500 else "")
                self.add(label, figure, "≤ 15 s", scaled / 15, scaled <= 15)
        finally:
            context.set_offline(False)
            page.close()

    # -- 4. server latency and throughput

    def latency(self) -> None:
        """Each page at 1 client (its p50 is the page's server time for one user), then at 32
        (p95 and throughput beside the bare endpoint's); 8 clients too in a full run."""
        from urllib.parse import quote

        from tests.bench.load import run_load

        who = self.who
        person = who["caseload"][0] if who["caseload"] else None
        # label, URL, who asks, the route it needs, the one-client p50 budget in ms
        pages: list[tuple[str, str, str | None, str, float | None]] = [
            ("app /healthz (through the app's middleware)", "/healthz", None, "/healthz",
             None),
            ("volunteer home", "/", "volunteer", "/", 5),
            ("caseload API", "/api/v1/me/caseload", "volunteer", "/api/v1/me/caseload", 5),
            ("update feed API, first page", "/api/v1/me/updates?since=0", "volunteer",
             "/api/v1/me/updates", 5),
            ("person page", f"/people/{person}", "volunteer", "/people/{person_id:int}", 5),
            ("my entries list", "/entries", "volunteer", "/entries", 5),
            ("notifications", "/notifications", "volunteer", "/notifications", 5),
            ("people register, searched", f"/people?q={quote(who['search'])}", "official",
             "/people", 5),
            ("review queue", "/review", "official", "/review", 5),
            ("commune report page (6 months)",
             f"{self.report_path}?area={who['commune']}&kind=h1&year={REPORT_YEAR}",
             "official", self.report_path, 50),
        ]
        levels = (1, 32) if self.quick else CONCURRENCY
        max_requests = {1: 60, 8: 300, 32: 600} if self.quick else {1: 400, 8: 2000, 32: 3000}
        seconds = 2.5 if self.quick else 10.0
        bare: dict[int, Any] = {}
        for c in levels:
            bare[c] = asyncio.run(run_load(self.bare.base, "/healthz", concurrency=c,
                                           max_requests=max_requests[c] * 4,
                                           max_seconds=seconds))
        self.data["latency"] = {"bare Litestar": {f"@{c}": r.as_dict() for c, r in bare.items()}}
        self.add("bare Litestar endpoint @32 (no middleware, no database)",
                 f"{bare[32].throughput:,.0f}/s (p95 {bare[32].percentile(95):.1f} ms)")
        for label, url, role, route, p50_budget in pages:
            if not self.has(route) or (route == "/people/{person_id:int}" and person is None):
                self.add(f"{label}: p50 @1", f"n/a (route missing: {route})",
                         f"≤ {p50_budget:g} ms" if p50_budget else "")
                continue
            cookies = self.cookies(role)
            results = {c: asyncio.run(run_load(
                self.server.base, url, concurrency=c, max_requests=max_requests[c],
                max_seconds=seconds, cookies=cookies)) for c in levels}
            measured: dict[str, Any] = {"url": url, "as": role}
            measured.update({f"@{c}": r.as_dict() for c, r in results.items()})
            self.data["latency"][label] = measured
            log(f"    {url}: " + "; ".join(_latency_figure(r) for r in results.values()))
            p50 = results[1].percentile(50) or 0.0
            self.add(f"{label}: p50 @1", _ms(p50, results[1]),
                     f"≤ {p50_budget:g} ms" if p50_budget else "",
                     p50 / p50_budget if p50_budget else None,
                     p50 <= p50_budget and not results[1].errors if p50_budget else None)
            if p50_budget is None:
                continue
            r32 = results[32]
            p95 = r32.percentile(95) or 0.0
            self.add(f"{label}: p95 @32", _ms(p95, r32), "≤ 50 ms", p95 / 50,
                     p95 <= 50 and not r32.errors)
            ok_rate = (r32.requests - r32.errors) / r32.seconds if r32.seconds else 0
            share = ok_rate / bare[32].throughput if bare[32].throughput else 0
            self.add(f"{label}: throughput ÷ bare @32", f"{share:.1%} ({ok_rate:,.0f}/s)",
                     "≥ 10%", share / 0.10, share >= 0.10)

    # -- 5. reports

    def reports(self) -> None:
        import httpx

        who = self.who
        cases = [
            ("province annual report page (supervisor)", who["province"], "year", "supervisor",
             "≤ 3 s SQLite, ≤ 1 s PG", 1.0 if self.db.postgres else 3.0),
        ]
        self.data["reports"] = {}
        for label, area, kind, role, budget, limit in cases:
            if self.has(self.report_path):
                url = f"{self.report_path}?area={area}&kind={kind}&year={REPORT_YEAR}"
                times, status = [], 0
                with httpx.Client(base_url=self.server.base, cookies=self.cookies(role),
                                  timeout=120) as client:
                    for _i in range(3):
                        t0 = time.perf_counter()
                        status = client.get(url).status_code
                        times.append(time.perf_counter() - t0)
                how = f"GET {url} → {status}"
            else:
                times, how = self._report_queries(area, kind)
                if not times:
                    self.add(label, "n/a (route missing: /reports; no report queries)", budget)
                    continue
            self.data["reports"][label] = {"seconds": times, "how": how}
            median = statistics.median(times)
            figure = (f"{median * 1000:,.0f} ms median of {len(times)} "
                      f"(first {times[0] * 1000:,.0f} ms)")
            if not how.endswith("→ 200") and not how.startswith("report built"):
                figure += f" ({how})"
            self.add(label, figure, budget, median / limit, median <= limit)

    def _report_queries(self, area: int, kind: str) -> tuple[list[float], str]:
        """Without the page: time the report's query functions in this process."""
        try:
            from server.reports import periods, queries
        except ImportError:
            return [], ""
        period = periods.annual(REPORT_YEAR) if kind == "year" else \
            periods.six_month(REPORT_YEAR)
        names = ["count_people_at_end", "count_new_people", "count_ended_periods",
                 "count_coverage", "count_post_rehab_schedule", "count_entries",
                 "count_referrals", "median_days_to_attended", "count_relapses",
                 "count_talks", "count_villages"]

        async def once() -> float:
            from server.areas.queries import get_area, list_descendant_communes

            t0 = time.perf_counter()
            try:
                from server.reports.build import build_report
            except ImportError:
                pass
            else:
                found = await get_area(area)
                assert found is not None
                await build_report(found, period, detail=kind != "year")
                return time.perf_counter() - t0
            ids = [c["id"] for c in await list_descendant_communes(area)] or [area]
            for name in names:
                fn = getattr(queries, name, None)
                if fn is not None:
                    await fn(ids, period)
            return time.perf_counter() - t0

        async def three() -> list[float]:
            out = [await once() for _i in range(3)]
            from server.piccolo_conf import DB

            close = getattr(DB, "close_kept", None)
            if close is not None:
                await close()
            return out

        return asyncio.run(three()), "report built in-process (no report route)"

    # -- 6. sync ingest

    def sync_ingest(self) -> None:
        import httpx

        if not self.has("/api/v1/sync"):
            self.add("sync ingest, batches of 100", "n/a (route missing: /api/v1/sync)",
                     "≥ 2,000 records/s")
            return
        csrf = self.csrf("volunteer")
        headers = {"x-csrftoken": csrf["csrftoken"], "content-type": "application/json"}
        batches = 5 if self.quick else 20
        sent = stored = 0
        outcomes: dict[str, int] = {}
        rows_for_raw: list[list[dict[str, Any]]] = []
        with httpx.Client(base_url=self.server.base, timeout=60,
                          cookies={**self.cookies("volunteer"), **csrf}) as client:
            probe = client.post("/api/v1/sync", headers=headers, content=json.dumps(
                {"records": [self._record(0)]}))
            if not 200 <= probe.status_code < 300:
                self.add("sync ingest, batches of 100",
                         f"n/a (POST /api/v1/sync → HTTP {probe.status_code})",
                         "≥ 2,000 records/s")
                return
            elapsed = 0.0
            for b in range(batches):
                records = [self._record(1 + b * 100 + i) for i in range(100)]
                rows_for_raw.append([r["data"] for r in records])
                body = json.dumps({"records": records})
                t0 = time.perf_counter()
                response = client.post("/api/v1/sync", headers=headers, content=body)
                elapsed += time.perf_counter() - t0
                sent += len(records)
                if 200 <= response.status_code < 300:
                    for r in response.json().get("results", []):
                        outcomes[r.get("outcome", "?")] = outcomes.get(r.get("outcome", "?"), 0) + 1
                        stored += r.get("outcome") == "stored"
                else:
                    outcomes[f"HTTP {response.status_code}"] = \
                        outcomes.get(f"HTTP {response.status_code}", 0) + len(records)
        rate = sent / elapsed if elapsed else 0.0
        raw_rate = self._raw_insert(rows_for_raw)
        self.data["sync"] = {"records": sent, "stored": stored, "seconds": elapsed,
                             "records_per_s": rate, "outcomes": outcomes,
                             "raw_records_per_s": raw_rate}
        figure = f"{rate:,.0f} records/s"
        if outcomes.get("stored", 0) != sent:
            figure += f" (outcomes {outcomes})"
        self.add("sync ingest, batches of 100", figure, "≥ 2,000 records/s", rate / 2000,
                 rate >= 2000 and outcomes.get("stored", 0) == sent)
        if raw_rate:
            share = rate / raw_rate
            self.add("sync ingest ÷ raw multi-row insert of the same rows",
                     f"{share:.1%} (raw {raw_rate:,.0f}/s)", "≥ 50%", share / 0.5, share >= 0.5)

    def _record(self, n: int) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "kind": "visit", "version": 1,
                "recorded_at": dt.datetime.now(dt.UTC).isoformat(), "data": self.visit_data(n)}

    def _raw_insert(self, batches: list[list[dict[str, Any]]]) -> float:
        """The same visits inserted as entry + entry_version rows, one transaction per batch
        of 100, straight into the same database (the floor the sync path is compared to)."""
        import hashlib

        import msgspec

        from tests.bench.generate import ENTRY_COLS

        who = self.who
        now = dt.datetime.now(dt.UTC)

        def rows(batch: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]],
                                                        list[tuple[Any, ...]]]:
            entries, versions = [], []
            for d in batch:
                blob = msgspec.json.encode(d)
                digest = hashlib.sha256(blob).hexdigest()
                eid = uuid.uuid4()
                base = {"id": eid, "kind": "visit", "commune": who["commune"], "village": None,
                        "author": who["volunteer"], "person": d["person"],
                        "entry_date": dt.date.fromisoformat(d["date"]), "recorded_at": now,
                        "received_at": now, "updated_at": now, "version": 1,
                        "state": "submitted", "content_hash": digest,
                        "receipt": digest[:8].upper(), "review_comment": "", "notes": "",
                        "visit_kind": d["visit_kind"], "met": d["met"],
                        "health": d["health"], "work": d["work"], "family": d["family"],
                        "drug_signs": d["drug_signs"], "methadone": d["methadone"],
                        "support": msgspec.json.encode(d["support"]).decode(),
                        "risk": d["risk"], "next_step": d["next_step"]}
                entries.append(tuple(base.get(c) for c in ENTRY_COLS))
                versions.append((eid, 1, blob.decode(), who["volunteer"], now))
            return entries, versions

        prepared = [rows(b) for b in batches]
        cols = ", ".join(f'"{c}"' for c in ENTRY_COLS)
        n = sum(len(b) for b in batches)
        if not n:
            return 0.0
        if self.db.postgres:
            import asyncpg

            async def pg() -> float:
                conn = await asyncpg.connect(self.db.env["DATABASE_URL"])
                try:
                    marks = ", ".join(f"${i + 1}" for i in range(len(ENTRY_COLS)))
                    t0 = time.perf_counter()
                    for entries, versions in prepared:
                        async with conn.transaction():
                            await conn.executemany(
                                f"INSERT INTO entry ({cols}) VALUES ({marks})", entries)
                            await conn.executemany(
                                "INSERT INTO entry_version (entry, version, data, author, "
                                "created_at) VALUES ($1, $2, $3, $4, $5)", versions)
                    return time.perf_counter() - t0
                finally:
                    await conn.close()

            seconds = asyncio.run(pg())
        else:
            import sqlite3

            import piccolo.engine.sqlite  # noqa: F401 - date/UUID adapters

            conn = sqlite3.connect(self.db.env["SQLITE_PATH"], isolation_level=None, timeout=30)
            try:
                conn.execute("PRAGMA foreign_keys = 1")
                conn.execute("PRAGMA synchronous = NORMAL")
                marks = ", ".join("?" for _ in ENTRY_COLS)
                t0 = time.perf_counter()
                for entries, versions in prepared:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(f"INSERT INTO entry ({cols}) VALUES ({marks})", entries)
                    conn.executemany("INSERT INTO entry_version (entry, version, data, author, "
                                     "created_at) VALUES (?, ?, ?, ?, ?)", versions)
                    conn.execute("COMMIT")
                seconds = time.perf_counter() - t0
            finally:
                conn.close()
        return n / seconds if seconds else 0.0


# ---------------------------------------------------------------- the table


def _ratio_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    mark = {True: " ✓", False: " ✗", None: ""}[row["within"]]
    if row["ratio"] is not None:
        return f"{row['ratio']:.2f}{mark}"
    return {True: "met", False: "MISSED", None: ""}[row["within"]]


def print_table(title: str, runs: list[dict[str, Any]]) -> None:
    """One table: a row per measurement, with each engine's figure and ratio side by side."""
    keys: list[str] = []
    budgets: dict[str, str] = {}
    for run in runs:
        for row in run["table"]:
            if row["key"] not in budgets:
                keys.append(row["key"])
            budgets[row["key"]] = budgets.get(row["key"]) or row["budget"]
    header = ["what", "budget"]
    for run in runs:
        header += [run["engine"], "ratio"]
    lines = [header]
    for key in keys:
        line = [key, budgets[key]]
        for run in runs:
            row = next((r for r in run["table"] if r["key"] == key), None)
            line += [row["figure"] if row else "—", _ratio_cell(row)]
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    print(title)
    for n, line in enumerate(lines):
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    missed = [f"{run['engine']}: {r['key']}" for run in runs for r in run["table"]
              if r["within"] is False]
    print(f"\n{len(missed)} budget(s) missed." if missed else "\nEvery budget met.")


def _latency_figure(r: Any) -> str:
    """p50/p95/p99 and throughput of one level; failures (non-2xx, timeouts) named apart.
    Percentiles cover every request, failed ones included."""
    if r.errors == r.requests:
        return f"@{r.concurrency}: all {r.requests} failed {r.statuses}"
    ok = r.requests - r.errors
    text = (f"@{r.concurrency}: p50 {r.percentile(50):.1f} / p95 {r.percentile(95):.1f} / "
            f"p99 {r.percentile(99):.1f} ms, {ok / r.seconds:.0f}/s")
    if r.errors:
        text += f" ({r.errors} failed: {r.statuses})"
    return text


def _ms(value: float, r: Any) -> str:
    """A latency figure; failed requests (non-2xx, timeouts) said beside it."""
    text = f"{value:,.1f} ms"
    if r.errors:
        text += f" ({r.errors}/{r.requests} failed: {r.statuses})"
    return text


def _js_by_file(urls: list[list[Any]]) -> list[tuple[str, int]]:
    """Compressed bytes (headers included) of each JavaScript file of a visit, largest first;
    a file fetched twice (by the page and by the service worker) counts both times."""
    sizes: dict[str, int] = {}
    for url, kind, size in urls:
        if kind in ("Script", "sw:js"):
            name = url.split("?", 1)[0].rsplit("/", 1)[-1].removesuffix(".js") \
                .removesuffix(".min")
            sizes[name] = sizes.get(name, 0) + int(size)
    return sorted(sizes.items(), key=lambda kv: -kv[1])


def _kind_of_url(url: str) -> str:
    path = url.split("?", 1)[0]
    if path.endswith(".css"):
        return "css"
    if path.endswith(".js"):
        return "js"
    if "/api/" in path:
        return "data"
    if "/static/" in path or path.endswith((".png", ".webmanifest", ".svg", ".ico")):
        return "other"
    return "html"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "system": platform.platform()}


def run_engine(args: argparse.Namespace, postgres: bool) -> dict[str, Any]:
    """Every measurement on one engine; its result as written to JSON (rows in "table")."""
    db = Database(args.scale, args.seed, postgres)
    server: Server | None = None
    bare: Server | None = None
    began = time.perf_counter()
    try:
        db.start()
        env = {**db.env, "SECRET_KEY": SECRET, "PICCOLO_CONF": "server.piccolo_conf",
               "DEMO_DATA": "0"}
        if not postgres:
            os.environ.pop("DATABASE_URL", None)
        if args.workers > 1:
            # As scripts/serve does: /metrics adds up the workers' figures from here.
            metrics = VAR / f"metrics-{os.getpid()}"
            shutil.rmtree(metrics, ignore_errors=True)
            metrics.mkdir(parents=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        server = Server(env, workers=args.workers)
        env["PUBLIC_ORIGIN"] = server.base
        os.environ.update(env)  # this process reads the same database (sessions, raw inserts)
        server.start()
        bare = Server({}, "tests.bench.bare:app", workers=args.workers)
        bare.start()
        log(f"Serving on {server.base} ({db.engine_name}, {args.scale} scale)")
        who = asyncio.run(prepare_identities())
        bench = Bench(server, bare, db, who, args.quick)
        if args.only == "sync":  # the sync measurement alone (`--only sync`)
            bench.sync_ingest()
            return {"engine": db.engine_name, "scale": args.scale, "seed": args.seed,
                    "quick": args.quick, "generate_seconds": db.generate_seconds,
                    "volunteer_caseload": who["caseload_size"], "table": bench.rows,
                    "data": bench.data, "peak_rss_mb": None,
                    "server_errors": bool(server.has_errors()),
                    "bench_seconds": time.perf_counter() - began}
        bench.check_headers()
        if args.skip_browser:
            bench.add("first visit, everything, compressed", "skipped (--skip-browser)")
        else:
            bench.page_weight()  # also the drain: it needs the browser
        bench.latency()
        bench.reports()
        bench.sync_ingest()
        rss = server.peak_rss_mb()
        bench.add("peak memory (RSS) of the server, its workers added up",
                  f"{rss:.0f} MB" if rss is not None else "n/a")
        if db.generate_seconds is not None:
            bench.add("dataset generated in", f"{db.generate_seconds:.0f} s")
        if server.has_errors() and server.log_path:
            log(f"The server logged errors: {server.log_path.relative_to(ROOT)} (kept)")
        return {"engine": db.engine_name, "scale": args.scale, "seed": args.seed,
                "quick": args.quick, "workers": args.workers, "generate_seconds": db.generate_seconds,
                "volunteer_caseload": who["caseload_size"], "table": bench.rows,
                "data": bench.data, "peak_rss_mb": rss,
                "server_errors": bool(server.has_errors()),
                "bench_seconds": time.perf_counter() - began}
    finally:
        for proc in (server, bare):
            if proc is not None:
                proc.stop()
        db.stop()
        shutil.rmtree(VAR / f"metrics-{os.getpid()}", ignore_errors=True)


def run_engine_apart(args: argparse.Namespace, postgres: bool) -> dict[str, Any]:
    """One engine's run in a process of its own: this process reads the database too (through
    Piccolo, whose engine is chosen once per process), so each engine gets a fresh one."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="donghanh-bench-") as tmp:
        out = Path(tmp) / "run.json"
        argv = [PY, "-m", "tests.bench.run", "--scale", args.scale, "--seed", str(args.seed),
                "--workers", str(args.workers), "--result-to", str(out)]
        argv += ["--quick"] * args.quick + ["--skip-browser"] * args.skip_browser
        argv += ["--only", args.only] if args.only else []
        argv += ["--postgres"] * postgres
        subprocess.run(argv, cwd=ROOT, check=True, stdout=sys.stderr)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL")
    engines.add_argument("--both", action="store_true",
                         help="SQLite, then a throwaway PostgreSQL, side by side in one table")
    parser.add_argument("--scale", choices=("commune", "district", "province"),
                        default="province")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="commune scale, fewer requests: a smoke run (~1–2 min per engine)")
    parser.add_argument("--skip-browser", action="store_true",
                        help="leave out the Chromium measurements (page weight, drain)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes of the app and of the bare endpoint alike "
                             "(default: one per core, as scripts/serve and production run)")
    parser.add_argument("--only", choices=("sync",),
                        help="run one measurement alone: the sync ingest (and its raw insert)")
    parser.add_argument("--result-to", type=Path, help=argparse.SUPPRESS)  # for --both
    args = parser.parse_args(argv)
    if args.quick:
        args.scale = "commune"
    if args.result_to:
        args.result_to.write_text(json.dumps(run_engine(args, args.postgres), default=str))
        return 0
    if args.both:
        runs = [run_engine_apart(args, postgres) for postgres in (False, True)]
    else:
        runs = [run_engine(args, args.postgres)]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    info = machine()
    names = " and ".join(r["engine"] for r in runs)
    title = (f"Đồng Hành bench — {names}, {args.scale} scale (seed {args.seed})"
             f"{', quick' if args.quick else ''}, {stamp}, {info['cores']} cores {info['cpu']}, "
             f"{args.workers} worker process(es) per server")
    print_table(title, runs)
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    result: dict[str, Any] = {"when": stamp, "scale": args.scale, "seed": args.seed,
                              "quick": args.quick, "workers": args.workers, "machine": info,
                              "engines": [r["engine"] for r in runs], "runs": runs}
    label = "both" if args.both else runs[0]["engine"]
    path = out_dir / f"{stamp}-{label}-{args.scale}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nJSON: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
