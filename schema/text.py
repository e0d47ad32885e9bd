"""Strings of the contract: marked for translation here, translated where they are shown.

`schema/` is the bottom floor and imports nothing of the app (an import-linter contract in
pyproject.toml keeps it so). Labels are English msgids marked with `N_`; `translated` hands
them to whatever translation the app installs at start-up (`server.i18n` installs gettext
for the request's language) and, with none installed, returns them as they are.
"""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


_translate: Callable[[str], str] = N_


def use_translation(gettext: Callable[[str], str]) -> None:
    """Called once by the app: how a marked string becomes the user's language."""
    global _translate
    _translate = gettext


def translated(message: str) -> str:
    return _translate(message)
