"""Where a sync batch's time goes, in process: `python -m tests.bench.sync_profile`.

Posts batches of 100 visits (the bench's own records, `Bench.visit_data`) to /api/v1/sync
through the whole app — middleware, session, CSRF, handler — on an ASGI transport in this
process, so the CPU time of one batch is measured without a network or a second process in
the way. Prints the CPU time (`time.process_time`) and wall time per batch, median of the
runs; with --profile, a cProfile of the measured batches, sorted by own time.

The database is the one of the environment (SQLITE_PATH, or DATABASE_URL for PostgreSQL):
give it a COPY of a bench dataset, the batches are stored for real.

    cp var/bench/commune-s1-v2.sqlite /tmp/p.sqlite
    SQLITE_PATH=/tmp/p.sqlite PICCOLO_CONF=server.piccolo_conf \\
        .venv/bin/python -m tests.bench.sync_profile --batches 30 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import statistics
import time
import uuid
from typing import Any

os.environ.setdefault("SECRET_KEY", "bench-secret-" + "x" * 40)
os.environ.setdefault("PUBLIC_ORIGIN", "http://localhost:8000")
os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")
os.environ.setdefault("DEMO_DATA", "0")


async def main(batches: int, size: int, warm: int, profile: str | None) -> None:
    import datetime as dt

    import httpx

    from server.app import create_app
    from tests.bench.run import Bench, prepare_identities

    who = await prepare_identities()
    bench = Bench.__new__(Bench)
    bench.who = who
    app = create_app()
    logging.getLogger("donghanh.access").setLevel(logging.WARNING)  # one line per request
    # A record number never used before in this database, so every visit is new.
    base = int(time.time() * 1000) % 10**9

    def records(b: int) -> list[dict[str, Any]]:
        return [{"id": str(uuid.uuid4()), "kind": "visit", "version": 1,
                 "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
                 "data": bench.visit_data(base + b * size + i)} for i in range(size)]

    bodies = [json.dumps({"records": records(b)}).encode() for b in range(warm + batches)]
    cpu: list[float] = []
    wall: list[float] = []
    profiler = cProfile.Profile() if profile else None
    async with app.lifespan():  # the app's database lifespan, as uvicorn runs it
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000",
                                     cookies={"session": who["sessions"]["volunteer"]}) as c:
            token = (await c.get("/signin")).cookies.get("csrftoken") or ""
            c.cookies.set("csrftoken", token)
            headers = {"x-csrftoken": token, "content-type": "application/json"}
            for n, body in enumerate(bodies):
                measured = n >= warm
                if measured and profiler:
                    profiler.enable()
                c0, w0 = time.process_time(), time.perf_counter()
                response = await c.post("/api/v1/sync", content=body, headers=headers)
                c1, w1 = time.process_time(), time.perf_counter()
                if measured and profiler:
                    profiler.disable()
                outcomes = {r["outcome"] for r in response.json()["results"]}
                assert response.status_code == 200 and outcomes == {"stored"}, \
                    (response.status_code, outcomes)
                if measured:
                    cpu.append(c1 - c0)
                    wall.append(w1 - w0)
    print(f"{batches} batches of {size}: CPU per batch median {statistics.median(cpu) * 1000:.1f} ms "
          f"(min {min(cpu) * 1000:.1f}), wall median {statistics.median(wall) * 1000:.1f} ms "
          f"(min {min(wall) * 1000:.1f}); {size / statistics.median(wall):,.0f} records/s by wall, "
          f"{size / statistics.median(cpu):,.0f} by CPU")
    if profiler and profile:
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the measured batches here")
    args = parser.parse_args()
    asyncio.run(main(args.batches, args.size, args.warm, args.profile))
