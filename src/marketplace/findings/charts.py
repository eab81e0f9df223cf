"""Server-side SVG for the corrective action trend: no script, readable with a text alternative."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 36
PAD_BOTTOM = 28
PAD_TOP = 12


def trend_svg(
    trend: list[dict[str, Any]], title: str = "Corrective actions opened and closed per month"
) -> str:
    """Grouped bars (opened, closed) per month; the caller shows the same numbers as a table."""
    months = len(trend) or 1
    peak = max([1] + [max(t["opened"], t["closed"]) for t in trend])
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / months
    bar = max(2.0, slot * 0.35)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="trend-title" class="chart">',
        f'<title id="trend-title">{escape(title)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" class="axis"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, t in enumerate(trend):
        x = PAD_LEFT + i * slot + slot * 0.1
        for j, key in enumerate(("opened", "closed")):
            h = plot_h * t[key] / peak
            y = PAD_TOP + plot_h - h
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'class="bar-{key}"><title>{escape(t["month"])}: {t[key]} {key}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{HEIGHT - 10}" text-anchor="middle" class="tick">'
            f"{escape(t['month'][5:])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
