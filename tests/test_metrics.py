"""/metrics in Prometheus format (loopback or token only), X-Request-ID on every answer, and
one JSON object per log line carrying that id — in-process and from a real uvicorn."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.browser import ROOT, LiveServer
from tests.conftest import run
from tests.factories import make_person


def _value(text: str, name: str, **labels: str) -> float:
    """One sample of the exposition text, 0 when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            have = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if have == want:
                return float(m.group(3))
    return 0.0


def test_request_id_on_every_answer(client):
    r = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    assert client.get("/no/such/page").headers["x-request-id"]  # unmatched paths too
    r = client.get("/healthz", headers={"X-Request-ID": "caddy-1234-abcd"})
    assert r.headers["x-request-id"] == "caddy-1234-abcd"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id\"<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def test_metrics_need_loopback_or_the_token(client, monkeypatch):
    from server import settings

    r = client.get("/metrics")  # the test client's address is not loopback
    assert r.status_code == 403
    assert "METRICS_TOKEN" in r.text
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-metrics-token")
    settings.reload()
    try:
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        r = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=")
    finally:
        monkeypatch.delenv("METRICS_TOKEN")
        settings.reload()


def test_sync_outcomes_batch_sizes_and_routes_are_counted(world, as_user, monkeypatch):
    from server import settings

    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], team=[world["bob"]],
                          start=dt.date(2025, 1, 1)))
    monkeypatch.setenv("METRICS_TOKEN", "tok-" + "m" * 20)
    settings.reload()
    bob = as_user(world["bob"])
    auth = {"Authorization": "Bearer tok-" + "m" * 20}
    try:
        before = bob.get("/metrics", headers=auth).text
        visit = {"person": pid, "date": "2026-11-20", "visit_kind": "home", "met": True,
                 "drug_signs": "none", "risk": "low", "support": ["counselling"]}
        records = [{"id": str(uuid.uuid4()), "kind": "visit", "data": visit} for _ in range(2)]
        records.append({"id": str(uuid.uuid4()), "kind": "visit", "data": {"person": pid}})
        assert bob.post("/api/v1/sync", json={"records": records}).status_code == 200
        after = bob.get("/metrics", headers=auth).text
    finally:
        monkeypatch.delenv("METRICS_TOKEN")
        settings.reload()
    grew = {k: _value(after, "donghanh_sync_records_total", outcome=k)
            - _value(before, "donghanh_sync_records_total", outcome=k)
            for k in ("stored", "invalid", "conflict")}
    assert grew == {"stored": 2, "invalid": 1, "conflict": 0}
    assert _value(after, "donghanh_sync_batch_records_count") - \
        _value(before, "donghanh_sync_batch_records_count") == 1
    assert _value(after, "donghanh_sync_batch_records_sum") - \
        _value(before, "donghanh_sync_batch_records_sum") == 3
    assert _value(after, "donghanh_requests_total", method="POST", route="/api/v1/sync",
                  status="200") - _value(before, "donghanh_requests_total", method="POST",
                                         route="/api/v1/sync", status="200") == 1
    assert _value(after, "donghanh_request_seconds_count", method="POST",
                  route="/api/v1/sync") >= 1


@pytest.fixture
def uvicorn_logs(tmp_path):
    """A real uvicorn process whose stderr goes to a file."""
    server = LiveServer()
    server.prepare()
    log = (tmp_path / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.app:app", "--host", "127.0.0.1", "--port",
         str(server.port), "--no-access-log"], cwd=ROOT, env=server.env, stderr=log)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield server, tmp_path / "stderr.log"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_real_server_logs_json_lines_with_the_request_id_and_serves_loopback(uvicorn_logs):
    server, path = uvicorn_logs
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}/people?q=Nguy%E1%BB%85n",
                                 headers={"X-Request-ID": "trace-me-0001"})
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as exc:  # anonymous: sent to sign in, or refused
        assert exc.headers["x-request-id"] == "trace-me-0001"
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    assert metrics.status == 200  # loopback
    assert "donghanh_requests_total" in metrics.read().decode()
    lines: list[dict] = []
    for _ in range(100):
        lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        if any(x.get("request_id") == "trace-me-0001" for x in lines):
            break
        time.sleep(0.1)
    mine = [x for x in lines if x.get("request_id") == "trace-me-0001"]
    assert mine and mine[0]["logger"] == "donghanh.access"
    assert mine[0]["route"] == "/people" and mine[0]["method"] == "GET"
    assert "Nguy" not in path.read_text()  # never the query string: searches hold names
