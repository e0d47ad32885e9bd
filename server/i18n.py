"""Translations: English msgids in the code, Vietnamese first in the interface.

Catalogues are plain `.po` files, one per domain area, in `server/locale/<lang>/<area>.po`;
they are merged and compiled in memory at start-up, so there is no build step and no stale
`.mo`. The locale of the current request lives in a context variable set for every answer by
`web.guard_answers`. The contract (`schema/`) marks its labels with its own `N_` and translates
them through the hook installed here (`schema.text.use_translation`), so it imports nothing of
the app.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from schema.text import N_, use_translation

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("vi", "en")
_current: ContextVar[str] = ContextVar("locale", default="vi")
_catalogs: dict[str, _gettext.NullTranslations] = {}


def load_catalogs() -> None:
    for lang in LOCALES:
        merged = Catalog(locale=lang)
        for po in sorted((LOCALE_DIR / lang).glob("*.po")):
            with po.open("rb") as fh:
                for msg in read_po(fh, locale=lang):
                    if msg.id and msg.string:
                        merged.add(msg.id, msg.string)
        buf = io.BytesIO()
        write_mo(buf, merged)
        buf.seek(0)
        _catalogs[lang] = _gettext.GNUTranslations(buf)


def catalog(lang: str) -> _gettext.NullTranslations:
    if not _catalogs:
        load_catalogs()
    return _catalogs.get(lang) or _gettext.NullTranslations()


def set_locale(lang: str) -> None:
    _current.set(lang if lang in LOCALES else LOCALES[0])


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


_ = gettext
use_translation(gettext)
__all__ = ["N_", "_", "gettext", "ngettext", "get_locale", "set_locale", "load_catalogs"]
