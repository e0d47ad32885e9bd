"""Find user-visible strings without a Vietnamese translation.

`python -m server.locale.check` lists them grouped by source file (exit 1 if any);
`--po` prints them as .po entries to paste into the area's `server/locale/vi/<area>.po`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> dict[str, str]:
    """msgid → first file that uses it."""
    found: dict[str, str] = {}
    method_map = [("server/templates/**.html", "jinja2"), ("server/**.py", "python"),
                  ("schema/**.py", "python")]
    options = {"server/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, options_map=options, keywords=KEYWORDS):
        if "/migrations/" in filename or filename.startswith(("tests", ".venv")):
            continue
        ids = message if isinstance(message, tuple) else (message,)
        for mid in ids:
            if mid:
                found.setdefault(mid, filename)
    return found


def translated(lang: str = "vi") -> set[str]:
    have: set[str] = set()
    for po in (ROOT / "server" / "locale" / lang).glob("*.po"):
        with po.open("rb") as fh:
            have.update(str(m.id) if not isinstance(m.id, tuple) else m.id[0]
                        for m in read_po(fh) if m.id and m.string)
    return have


def missing(lang: str = "vi") -> dict[str, str]:
    have = translated(lang)
    return {mid: f for mid, f in extracted().items() if mid not in have}


def main() -> int:
    gaps = missing()
    if "--po" in sys.argv:
        for mid, f in sorted(gaps.items(), key=lambda kv: kv[1]):
            esc = mid.replace("\\", "\\\\").replace('"', '\\"')
            print(f"#: {f}\nmsgid \"{esc}\"\nmsgstr \"\"\n")
    else:
        for mid, f in sorted(gaps.items(), key=lambda kv: kv[1]):
            print(f"{f}: {mid}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
