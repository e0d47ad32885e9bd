"""The retention job: anonymise the people whose support ended more than
RETENTION_YEARS_AFTER_SUPPORT years ago (scripts/retention [--dry-run]; daily by the systemd
timer scripts/deploy/donghanh-retention.timer).

Run as `python -m server.privacy.retention`. It prints one line per person (code and the day
their support ended, never a name) and a summary; `--dry-run` lists without changing anything.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any

from server.privacy.queries import anonymise_person, list_due_for_anonymisation
from server.settings import settings
from server.vntime import today as vn_today


def cutoff_for(today: dt.date, years: int) -> dt.date:
    """The day support must have ended before; 29 February falls back to the 28th."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


async def run_retention(*, today: dt.date, years: int, dry_run: bool,
                        log: Any = print) -> list[dict[str, Any]]:
    cutoff = cutoff_for(today, years)
    due = await list_due_for_anonymisation(cutoff)
    log(f"retention: {years} years after support ended; support ended before {cutoff}: "
        f"{len(due)} to anonymise{' (dry run: nothing changed)' if dry_run else ''}")
    for p in due:
        if dry_run:
            log(f"  would anonymise {p['code']} (support ended {p['support_ended']})")
        else:
            n = await anonymise_person(p["id"], p["support_ended"])
            log(f"  anonymised {p['code']} (support ended {p['support_ended']}; {n} entries)")
    return due


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="donghanh-retention")
    parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
    args = parser.parse_args(argv)
    asyncio.run(run_retention(today=vn_today(), years=settings.retention_years,
                              dry_run=args.dry_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
