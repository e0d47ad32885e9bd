"""Demo data for a newcomer: one province, two communes with villages, officials, volunteers
and a supervisor (no passkeys — `scripts/serve` prints an enrolment link).

Each area may add its own demo rows in `server/<area>/demo.py` with `async def load(ids)`,
called after the base rows with the ids made here.
"""

from __future__ import annotations

from typing import Any

from server.areas.queries import create_user
from server.areas.tables import Area, Organisation
from server.home import CONTRIBUTORS
from server.web import optional_module

ORGANISATIONS = [
    ("DTN", "Đoàn Thanh niên"), ("LHPN", "Hội Liên hiệp Phụ nữ"), ("CCB", "Hội Cựu chiến binh"),
    ("HND", "Hội Nông dân"), ("MTTQ", "Mặt trận Tổ quốc"), ("CAX", "Công an xã"),
    ("TYT", "Trạm y tế"),
]


async def _area(code: str, name: str, level: str, parent: int | None, **extra: Any) -> int:
    row = await Area.insert(Area(code=code, name=name, level=level, parent=parent, **extra)) \
        .returning(Area.id)
    return int(row[0]["id"])


async def demo_loaded() -> bool:
    return await Area.exists().where(Area.code == "TH")


async def load_demo(extras: bool = True) -> dict[str, Any]:
    """Load the demo rows once; returns the ids other areas' demo loaders build on."""
    if await demo_loaded():
        return {}
    org: dict[str, int] = {}
    for code, name in ORGANISATIONS:
        row = await Organisation.insert(Organisation(code=code, name=name)).returning(
            Organisation.id)
        org[code] = int(row[0]["id"])
    province = await _area("TH", "Tỉnh Thanh Hóa", "province", None)
    ids: dict[str, Any] = {"province": province, "org": org, "villages": {}}
    communes = [("HK", "Xã Hoằng Kim", ["Thôn 1", "Thôn 2", "Thôn 3", "Thôn Kim Sơn", "Thôn Đông"]),
                ("HT", "Xã Hoằng Trung", ["Thôn Trung Thành", "Thôn Phú Xá", "Thôn Hà Thái"])]
    for code, name, villages in communes:
        commune = await _area(code, name, "commune", province, person_prefix=code)
        ids[code] = commune
        ids["villages"][code] = []
        for i, village in enumerate(villages, 1):
            ids["villages"][code].append(await _area(
                f"{code}-{i:02d}", village, "village", commune, hotspot=(i in (1, 4))))
    users = {
        "alice": ("Lê Thị Hoa", "official", ids["HK"], None, "0912000001"),
        "bob": ("Nguyễn Văn Bình", "volunteer", ids["HK"], org["DTN"], "0912000002"),
        "carol": ("Trần Thị Cúc", "volunteer", ids["HK"], org["LHPN"], "0912000003"),
        "dave": ("Phạm Văn Dũng", "official", ids["HT"], None, "0912000004"),
        "erin": ("Hoàng Thị Én", "volunteer", ids["HT"], org["DTN"], "0912000005"),
        "eve": ("Vũ Minh Đức", "supervisor", province, None, "0912000006"),
    }
    ids["users"] = {}
    for key, (name, role, area, organisation, phone) in users.items():
        ids["users"][key] = await create_user(display_name=name, role=role, area_id=area,
                                              organisation_id=organisation, phone=phone)
    for name in CONTRIBUTORS if extras else ():
        module = optional_module(f"server.{name}.demo")
        if module is not None:
            await module.load(ids)
    return ids
