"""Small charts as server-rendered SVG: no script, each with a title and a description a
screen reader announces, every bar labelled with its value in text (the chart is never
the only place a figure is read)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

BAR = "#1d4f91"  # 8.6:1 against white
TEXT = "#1b1b1b"


def bars(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", width: int = 560) -> Markup:
    """A horizontal bar chart of (label, value) rows."""
    top = max((v for _, v in rows), default=0) or 1
    label_width, row_height, bar_room = 200, 26, width - 200 - 70
    height = row_height * max(len(rows), 1) + 10
    key = _id(title)
    said = "; ".join(f"{k}: {_n(v)}{unit}" for k, v in rows) or "none"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'class="chart" aria-labelledby="{key}-t {key}-d">',
             f'<title id="{key}-t">{escape(title)}</title>', f'<desc id="{key}-d">{escape(said)}</desc>']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_height
        length = round(bar_room * value / top, 1)
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
                     f'fill="{TEXT}">{escape(label[:32])}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{max(length, 1)}" '
                     f'height="{row_height - 8}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_width + length + 6}" y="{y + 17}" font-size="13" fill="{TEXT}">'
                     f'{escape(_n(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
