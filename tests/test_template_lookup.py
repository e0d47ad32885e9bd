"""`row.name` in the app's templates reads a dict row's key at once (server/app.py
`_fast_getattr`): the same answer as Jinja's own lookup in every case — a key, a missing key
(undefined), a key named like a dict method (the method wins, as in Jinja), an object's
attribute, a dict subclass."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from jinja2 import Environment, StrictUndefined
from jinja2.exceptions import UndefinedError

from server.app import _fast_getattr

TEMPLATE = ("{{ r.name }}|{{ r.missing is defined }}|{{ r.items is callable }}|"
            "{{ r.get('name') }}|{{ r.keys()|list|length }}")


class Row:
    name = "attribute"


def _render(env: Environment, row: Any) -> str:
    return env.from_string(TEMPLATE).render(r=row)


def test_fast_lookup_answers_as_jinja_does() -> None:
    generic, fast = Environment(), Environment()
    fast.getattr = _fast_getattr(fast)  # type: ignore[method-assign,assignment]
    rows: list[Any] = [{"name": "Lan"}, {"name": "Lan", "items": "key"}, {},
                       OrderedDict(name="ordered"), {"name": None}]
    for row in rows:
        assert _render(fast, row) == _render(generic, row), row
    assert _render(fast, {"name": "Lan"}) == "Lan|False|True|Lan|1"
    # An object is Jinja's business: its attribute, and "undefined" for what it lacks.
    plain = "{{ r.name }}|{{ r.missing is defined }}"
    assert fast.from_string(plain).render(r=Row()) == "attribute|False"


def test_a_missing_key_is_jinjas_undefined() -> None:
    strict = Environment(undefined=StrictUndefined)
    strict.getattr = _fast_getattr(strict)  # type: ignore[method-assign,assignment]
    try:
        strict.from_string("{{ r.missing }}").render(r={"name": "Lan"})
    except UndefinedError as exc:
        assert "missing" in str(exc)
    else:
        raise AssertionError("a missing key rendered")


def test_the_app_renders_with_the_fast_lookup() -> None:
    from server.app import app

    env = app.template_engine.engine  # type: ignore[union-attr]
    assert "getattr" in vars(env)
    assert env.from_string("{{ r.name }}").render(r={"name": "Lan"}) == "Lan"
