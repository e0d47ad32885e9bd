"""Small horizontal bar charts as inline SVG, drawn on the server (no chart library on the
phone, nothing for the CSP to block, and they print)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = 18
GAP = 6
LABEL_W = 150
WIDTH = 340


def bar_chart(items: Sequence[tuple[str, int | float]], *, title: str = "",
              width: int = WIDTH, unit: str = "") -> Markup:
    """One bar per (label, value); values are written at the bar's end."""
    items = [(label, value or 0) for label, value in items]
    if not items:
        return Markup("")
    top = max(v for _label, v in items) or 1
    plot = width - LABEL_W - 40
    height = len(items) * (BAR + GAP) + GAP
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
             f'{height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">']
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        w = max(1, round(plot * value / top)) if value else 0
        text = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR - 5}" text-anchor="end" font-size="11" '
            f'fill="#1b1b1b">{escape(text)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR}" rx="2" fill="#0f6b5c"/>'
            f'<text x="{LABEL_W + w + 4}" y="{y + BAR - 5}" font-size="12" fill="#1b1b1b">'
            f'{escape(_number(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value):,}".replace(",", ".")
