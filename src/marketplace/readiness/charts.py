"""Server-side SVG of readiness over time: no script, with a text alternative beside it."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 40
PAD_RIGHT = 12
PAD_BOTTOM = 28
PAD_TOP = 12


def progress_svg(
    history: list[dict[str, Any]], title: str = "Overall readiness per day with changes"
) -> str:
    """A line of the overall score (0-100 %) per snapshot; the page shows the same numbers as a table."""
    points = [h for h in history if h.get("overall") is not None]
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="progress-title" class="chart">',
        f'<title id="progress-title">{escape(title)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}" class="axis"/>',
    ]
    for pct in (0, 50, 100):
        y = PAD_TOP + plot_h - plot_h * pct / 100
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{pct}%</text>'
        )
    step = plot_w / max(1, len(points) - 1)
    coords = []
    for i, h in enumerate(points):
        x = PAD_LEFT + (i * step if len(points) > 1 else plot_w / 2)
        y = PAD_TOP + plot_h - plot_h * int(h["overall"]) / 100
        coords.append((x, y))
        label = escape(str(h["taken_on"]))
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="point">'
            f"<title>{label}: {int(h['overall'])}%</title></circle>"
        )
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" class="line" fill="none"/>')
    if points:
        for i in sorted({0, len(points) - 1}):
            parts.append(
                f'<text x="{coords[i][0]:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="tick">'
                f"{escape(str(points[i]['taken_on']))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
