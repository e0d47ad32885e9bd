"""Command-line entry points behind `scripts/`: migrate, demo data, invitations, areas, audit.

Run as `python -m server.cli COMMAND`; each script in `scripts/` is a thin wrapper.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import warnings
from pathlib import Path

from piccolo.apps.migrations.commands.forwards import run_forwards

from server import demo
from server.areas.queries import create_user, get_area_by_code, list_areas
from server.areas.tables import Area, User
from server.audit.queries import verify_chain
from server.auth.queries import create_invitation, enrol_url
from server.auth.tables import Credential
from server.settings import settings


async def migrate(quiet: bool = False) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext(), \
            warnings.catch_warnings():
        # Piccolo warns that SQLite ignores column lengths on every fresh database: true, known
        # (the app checks lengths itself) and alarming to a newcomer reading the start-up.
        warnings.filterwarnings("ignore", message=".*SQLITE doesn't support changes in length")
        result = await run_forwards("all")
    if not result.success:
        print(out.getvalue(), result.message, file=sys.stderr)
        raise SystemExit(1)


def _origin_file() -> Path:
    """Where `scripts/serve` notes the origin it serves on, next to the database it serves, so
    that `scripts/enrol-link` and `scripts/invite` print links for that server."""
    return Path(settings.sqlite_path).parent / "serve-origin"


def link_origin() -> str:
    """The origin printed links point at: PUBLIC_ORIGIN or PORT when set here, otherwise the
    one the last `scripts/serve` on this database used, otherwise the default."""
    if os.environ.get("PUBLIC_ORIGIN") or os.environ.get("PORT"):
        return settings.public_origin
    try:
        noted = _origin_file().read_text().strip()
    except OSError:
        noted = ""
    return noted.rstrip("/") or settings.public_origin


def link_for(token: str) -> str:
    """An enrolment link (the path of `server.auth.queries.enrol_url`) at `link_origin()`."""
    return link_origin() + enrol_url(token).removeprefix(settings.public_origin)


async def demo_official_link() -> str | None:
    """A fresh enrolment link for the demo official of commune A while she has no passkey."""
    commune = await Area.select(Area.id).where(Area.code == "HK").first()
    if commune is None:
        return None
    official = await User.select(User.id).where(
        (User.area == commune["id"]) & (User.role == "official")).order_by(User.id).first()
    if official is None or await Credential.exists().where(Credential.user == official["id"]):
        return None
    return link_for(await create_invitation(official["id"], None))


async def serve_prepare(load_demo: bool) -> None:
    await migrate(quiet=True)
    # Run with the server's own environment: what it notes is the origin it will serve on.
    _origin_file().parent.mkdir(parents=True, exist_ok=True)
    _origin_file().write_text(settings.public_origin + "\n")
    if load_demo and await demo.load_demo():
        print("Demo data loaded: province TH, communes HK (A) and HT (B).")
    link = await demo_official_link()
    if link:
        print("Other demo users (volunteers Nguyễn Văn Bình, Trần Thị Cúc; official of Xã Hoằng "
              "Trung Phạm Văn Dũng; province supervisor Vũ Minh Đức): "
              'scripts/enrol-link --name "…" prints a link for each.')
        print("Enrolment link for the demo official of Xã Hoằng Kim (Lê Thị Hoa), valid once; "
              "each start of scripts/serve replaces it while she has no passkey:")
        print(link)
    print(f"Serving on {settings.public_origin} (bound to {settings.host}:{settings.port}); "
          "open that address, passkeys work only there. Stop with Ctrl-C.")


async def invite(role: str, area_code: str, name: str, phone: str) -> None:
    area = await get_area_by_code(area_code)
    if area is None:
        raise SystemExit(f"unknown area code: {area_code} (see scripts/areas)")
    need = {"official": "commune", "volunteer": "commune"}.get(role)
    if need and area["level"] != need:
        raise SystemExit(f"a {role} belongs to a commune; {area_code} is a {area['level']}")
    if role == "supervisor" and area["level"] not in ("province", "district"):
        raise SystemExit(f"a supervisor belongs to a province or district; {area_code} is a "
                         f"{area['level']}")
    user_id = await create_user(display_name=name, role=role, area_id=area["id"], phone=phone)
    print(f"Invited {name} ({role}) to {area['name']}; the link is valid once.")
    print(link_for(await create_invitation(user_id, None)))


async def enrol_link(name: str) -> None:
    """A fresh enrolment link for an existing user, found by display name."""
    user = await User.select(User.id).where(User.display_name == name).first()
    if user is None:
        raise SystemExit(f"no user named {name!r}")
    print(link_for(await create_invitation(user["id"], None)))


async def areas() -> None:
    for a in await list_areas():
        print(f"{a['code']}\t{a['level']}\t{a['name']}")


async def verify_audit() -> int:
    checked, broken = await verify_chain()
    if broken is None:
        print(f"audit chain intact: {checked} rows")
        return 0
    print(f"audit chain BROKEN at row id {broken} (after {checked} intact rows)")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="donghanh")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="run the database migrations")
    p = sub.add_parser("serve-prepare", help="migrate, load demo data, print the demo link")
    p.add_argument("--no-demo", action="store_true")
    p = sub.add_parser("invite", help="invite a user and print the enrolment link")
    p.add_argument("--role", required=True, choices=["official", "volunteer", "supervisor"])
    p.add_argument("--area", required=True, help="area code (scripts/areas)")
    p.add_argument("--name", required=True)
    p.add_argument("--phone", default="")
    p = sub.add_parser("enrol-link", help="print a new enrolment link for an existing user")
    p.add_argument("--name", required=True)
    sub.add_parser("areas", help="list areas: code, level, name")
    sub.add_parser("verify-audit", help="check the audit log's hash chain")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        asyncio.run(migrate())
    elif args.command == "serve-prepare":
        asyncio.run(serve_prepare(not args.no_demo))
    elif args.command == "invite":
        asyncio.run(invite(args.role, args.area, args.name, args.phone))
    elif args.command == "enrol-link":
        asyncio.run(enrol_link(args.name))
    elif args.command == "areas":
        asyncio.run(areas())
    elif args.command == "verify-audit":
        return asyncio.run(verify_audit())
    return 0


if __name__ == "__main__":
    sys.exit(main())
