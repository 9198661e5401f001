"""Server-side SVG charts: horizontal bars and a centred lifecycle funnel.

Each chart is an ``<svg role="img">`` with a <title> and <desc> naming every value, so a screen reader reads
the numbers; the page also shows the same numbers as a table under each chart. No script, no library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 640, 22, 6, 220
PALETTE = ("#2f6f9f", "#4f9a6b", "#c7822d", "#8a5aa8", "#b5483f", "#3f8f8f", "#7b7b2e", "#5f6f7f")


def plain(value: int | float) -> str:
    return f"{value:,}".replace(",", ".")


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int | float]],
              fmt: Callable[[int | float], str] = plain) -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    top = max((v for _, v in items), default=0) or 1
    height = max(1, len(items)) * (BAR + GAP) + GAP
    span = WIDTH - LABEL - 150
    desc = "; ".join(f"{label}: {fmt(value)}" for label, value in items) or "—"
    parts = [f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>']
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        width = round(span * value / top) if value > 0 else 0
        parts.append(f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.0f}" text-anchor="end" font-size="13">'
                     f'{escape(label[:34])}</text>'
                     f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
                     f'<text x="{LABEL + width + 6}" y="{y + BAR * 0.7:.0f}" font-size="13">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(chart_id: str, title: str, stages: Sequence[tuple[str, int]]) -> Markup:
    """Centred bars narrowing along the lifecycle; each stage's width is its share of the first stage."""
    first = max((n for _, n in stages), default=0) or 1
    height = max(1, len(stages)) * (BAR + GAP) + GAP
    middle = LABEL + (WIDTH - LABEL) / 2
    span = WIDTH - LABEL - 20
    desc = "; ".join(f"{label}: {plain(n)}" for label, n in stages) or "—"
    parts = [f'<svg id="{escape(chart_id)}" class="chart funnel" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>']
    for i, (label, n) in enumerate(stages):
        y = GAP + i * (BAR + GAP)
        width = max(2, round(span * n / first))
        parts.append(f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.0f}" text-anchor="end" font-size="13">'
                     f'{escape(label)}</text>'
                     f'<rect x="{middle - width / 2:.0f}" y="{y}" width="{width}" height="{BAR}" fill="#2f6f9f">'
                     f'<title>{escape(label)}: {plain(n)}</title></rect>'
                     f'<text x="{middle:.0f}" y="{y + BAR * 0.7:.0f}" text-anchor="middle" font-size="13" '
                     f'fill="#000" stroke="#fff" stroke-width="3" paint-order="stroke">{plain(n)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
