"""Server-side SVG charts for the dashboards: no script; each page shows the same numbers as a table."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from html import escape

from marketplace.dashboards.schemas import BodyDashboard, ClientDetail, OrganisationDashboard

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 44
PAD_BOTTOM = 28
PAD_TOP = 12


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    stacked: bool = False,
) -> str:
    """Bars per label, one colour class per series (`series-0` ...), grouped or stacked."""
    slots = len(labels) or 1
    if stacked:
        peak = max([1.0] + [sum(s[1][i] for s in series) for i in range(len(labels))])
    else:
        peak = max([1.0] + [v for _, values in series for v in values])
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / slots
    bar = max(2.0, slot * 0.8 / (1 if stacked else max(1, len(series))))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" class="chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" class="axis"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end" class="tick">{_num(peak)}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, label in enumerate(labels):
        x = PAD_LEFT + i * slot + slot * 0.1
        base = float(PAD_TOP + plot_h)
        for j, (name, values) in enumerate(series):
            h = plot_h * values[i] / peak
            if stacked:
                y, bx = base - h, x
                base -= h
            else:
                y, bx = PAD_TOP + plot_h - h, x + j * bar
            parts.append(
                f'<rect x="{bx:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'class="series-{j}"><title>{escape(label)}: {_num(values[i])} {escape(name)}</title></rect>'
            )
        parts.append(
            f'<text x="{x + slot * 0.4:.1f}" y="{HEIGHT - 10}" text-anchor="middle" class="tick">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, one per item (clauses, auditors), longest first as given."""
    row = 22
    height = PAD_TOP * 2 + row * max(1, len(items))
    peak = max([1.0] + [v for _, v in items])
    left = 120
    plot_w = WIDTH - left - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" class="chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(items):
        y = PAD_TOP + i * row
        w = plot_w * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" class="tick">{escape(label[:18])}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" class="series-0">'
            f"<title>{escape(label)}: {_num(value)}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" class="tick">{_num(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(
    chart_id: str, title: str, start: dt.date, end: dt.date, marks: Sequence[tuple[dt.date, str]]
) -> str:
    """A time axis from `start` to `end` with one labelled mark per audit or decision."""
    span = max(1, (end - start).days)
    height = 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" class="chart timeline">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="20" y1="45" x2="{WIDTH - 20}" y2="45" class="axis"/>',
        f'<text x="20" y="80" class="tick">{start.isoformat()}</text>',
        f'<text x="{WIDTH - 20}" y="80" text-anchor="end" class="tick">{end.isoformat()}</text>',
    ]
    for i, (day, label) in enumerate(marks):
        x = 20 + (WIDTH - 40) * max(0, min(span, (day - start).days)) / span
        y = 30 if i % 2 == 0 else 62
        parts.append(
            f'<circle cx="{x:.1f}" cy="45" r="4" class="series-{i % 4}">'
            f"<title>{escape(label)} {day.isoformat()}</title></circle>"
            f'<text x="{x:.1f}" y="{y}" text-anchor="middle" class="tick">{escape(label[:14])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# --- the charts of each home, from its typed answer --------------------------------------------


def body_home_charts(board: BodyDashboard) -> dict[str, str]:
    """The body home's charts: audits per month, utilisation, clauses and (billing roles) revenue."""
    apm = board.audits_per_month
    labels = [m.month[5:] for m in apm.months]
    charts = {
        "audits": bar_chart(
            "audits-chart",
            "Audits held per month by kind, last 12 months",
            labels,
            [(k, [m.kinds[k].count for m in apm.months]) for k in apm.kinds],
            stacked=True,
        ),
        "utilisation": hbar_chart(
            "utilisation-chart",
            "Auditor utilisation, next 90 days (per cent of working days booked)",
            [(u.name, u.utilisation_pct) for u in board.utilisation[:15]],
        ),
        "clauses": hbar_chart(
            "clauses-chart",
            "Nonconformities by clause, last 12 months",
            [(c.clause, c.count) for c in board.nonconformities_by_clause],
        ),
    }
    if board.revenue:
        cur = board.revenue.currency
        months = board.revenue.months
        charts["revenue"] = bar_chart(
            "revenue-chart",
            f"Revenue invoiced and collected per month in {cur} (minor units / 100)",
            labels,
            [
                ("invoiced", [m.invoiced.get(cur, 0) / 100 for m in months]),
                ("collected", [m.collected.get(cur, 0) / 100 for m in months]),
            ],
        )
    return charts


def client_home_chart(board: OrganisationDashboard) -> str:
    """Nonconformities per issued report, the client's improvement over time."""
    per_report = board.improvement.per_report
    return bar_chart(
        "nc-chart",
        "Nonconformities per issued audit report, oldest first",
        [f"{r.issued_on:%y-%m}" if r.issued_on else "?" for r in per_report],
        [("nonconformities", [r.count for r in per_report])],
    )


def engagement_timelines(detail: ClientDetail, today: dt.date) -> dict[uuid.UUID, str]:
    """One timeline per engagement of the client file: its audits and decisions over time."""
    timelines = {}
    for e in detail.engagements:
        marks: list[tuple[dt.date, str]] = []
        for c in e.cycles:
            if c.decision_date:
                marks.append((c.decision_date, "decision"))
            for a in c.audits:
                day = (
                    a.completed_on or (a.starts_at.date() if a.starts_at else None) or a.window_end
                )
                if day:
                    marks.append((day, a.kind))
        if marks:
            marks.sort()
            timelines[e.id] = timeline_svg(
                f"timeline-{e.id}",
                f"{e.standard}: audits and decisions over time",
                min(marks[0][0], e.started_on),
                max(marks[-1][0], today),
                marks,
            )
    return timelines
