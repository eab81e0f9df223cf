"""The dashboards' SVG charts: titled for screen readers, scaled to the peak, escaped."""

from __future__ import annotations

import datetime as dt
import re

from marketplace.dashboards.charts import bar_chart, hbar_chart, timeline_svg
from marketplace.dashboards.months import month_end, month_starts, working_days


def test_bar_chart_has_a_title_and_one_bar_per_value() -> None:
    svg = bar_chart(
        "c", "Audits <per> month", ["01", "02"], [("stage1", [1, 3]), ("stage2", [0, 2])]
    )
    assert 'role="img"' in svg
    assert 'aria-labelledby="c-title"' in svg
    assert "Audits &lt;per&gt; month" in svg
    assert svg.count("<rect") == 4
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"', svg)]
    assert max(heights) == HEIGHT_PLOT  # the peak value fills the plot


def test_stacked_bars_scale_to_the_largest_total() -> None:
    svg = bar_chart("s", "t", ["a"], [("x", [1]), ("y", [3])], stacked=True)
    heights = sorted(float(h) for h in re.findall(r'height="([\d.]+)"', svg))
    assert heights[0] * 3 == heights[1]
    assert sum(heights) == HEIGHT_PLOT


def test_horizontal_bars_and_timeline_label_every_item() -> None:
    svg = hbar_chart("h", "Clauses", [("8.5.1", 3), ("7.2", 1)])
    assert "8.5.1: 3" in svg
    assert "7.2: 1" in svg
    line = timeline_svg(
        "t", "Cycle", dt.date(2025, 1, 1), dt.date(2026, 1, 1), [(dt.date(2025, 7, 2), "stage2")]
    )
    assert "stage2 2025-07-02" in line


def test_month_helpers() -> None:
    months = month_starts(dt.date(2026, 2, 14), 3)
    assert months == [dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    assert month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)
    assert month_end(dt.date(2025, 12, 1)) == dt.date(2025, 12, 31)
    assert working_days(dt.date(2026, 11, 23), 7) == 5  # a Monday: one week


HEIGHT_PLOT = 220 - 28 - 12
