"""The trend chart is plain SVG with a title, one bar per month and series, and escaped labels."""

from __future__ import annotations

from marketplace.findings.charts import trend_svg


def test_trend_svg() -> None:
    trend = [
        {"month": "2026-01", "opened": 3, "closed": 1},
        {"month": "2026-02", "opened": 0, "closed": 2},
    ]
    svg = trend_svg(trend, title="Trend <&>")
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert '<title id="trend-title">Trend &lt;&amp;&gt;</title>' in svg
    assert svg.count('class="bar-opened"') == 2
    assert svg.count('class="bar-closed"') == 2
    assert "<script" not in svg


def test_empty_trend() -> None:
    assert trend_svg([]).endswith("</svg>")
