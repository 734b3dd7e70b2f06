"""Charts drawn on the server as SVG: nothing to load from elsewhere (a closed municipal
network), nothing to run in the browser, printable, and readable without the picture — every
chart carries a title and a text summary for screen readers, and its page shows the same
numbers in a table beside it.

Colours are the Okabe–Ito palette, which holds for the common kinds of colour blindness; the
bars also carry their value as text, so no reading depends on colour alone."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["PALETTE", "bar_chart", "heatmap"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
FONT = 'font-family="inherit" font-size="11"'


def _nice_maximum(value: float) -> float:
    """A round top for the axis (1, 2, 5 × a power of ten) at or above ``value``."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(chart_id: str, title: str, summary: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(  # nosec B704: each value is escaped where this module writes it
        f'<svg class="rl-chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(summary)}</desc>' + "".join(body) + "</svg>")


def bar_chart(chart_id: str, title: str, summary: str, categories: Sequence[str],
              series: Sequence[tuple[str, Sequence[float]]], *, reference: tuple[float, str] | None = None,
              value_format=str) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series (with a legend), each
    bar labelled with its value; ``reference`` draws a dashed line (a target or a norm)."""
    groups, per_group = len(categories), max(len(series), 1)
    bar, gap = 14, 10
    left, top, bottom, right = 44, 28, 46, 12
    plot_height = 180
    width = left + right + max(groups, 1) * (per_group * bar + gap)
    height = top + plot_height + bottom
    peak = max([v for _, values in series for v in values] + [reference[0] if reference else 0, 0])
    top_value = _nice_maximum(peak)

    def y(value: float) -> float:
        return top + plot_height - (value / top_value) * plot_height

    body = []
    for tick in range(5):  # the axis: 0, ¼, ½, ¾ and the top, in light lines
        value = top_value * tick / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                    f'stroke="#d0d0d0" stroke-width="1"/>')
        label = value_format(int(value) if float(value).is_integer() else round(value, 1))
        body.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>')
    for g, category in enumerate(categories):
        x0 = left + g * (per_group * bar + gap) + gap / 2
        for s, (name, values) in enumerate(series):
            value = values[g]
            x = x0 + s * bar
            body.append(f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar - 2}" '
                        f'height="{max(y(0) - y(value), 0):.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                        f'<title>{escape(name)}, {escape(category)}: {escape(value_format(value))}</title></rect>')
            if value:
                body.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{y(value) - 3:.1f}" text-anchor="middle" '
                            f'{FONT} font-size="9">{escape(value_format(value))}</text>')
        body.append(f'<text x="{x0 + per_group * bar / 2:.1f}" y="{top + plot_height + 14}" text-anchor="middle" '
                    f'{FONT}>{escape(category)}</text>')
    if reference is not None:
        value, name = reference
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                    f'stroke="#000" stroke-width="1.5" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{width - right}" y="{y(value) - 4:.1f}" text-anchor="end" {FONT}>'
                    f'{escape(name)}</text>')
    legend_y = top + plot_height + 32
    x = left
    for s, (name, _) in enumerate(series):
        body.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        body.append(f'<text x="{x + 14}" y="{legend_y}" {FONT}>{escape(name)}</text>')
        x += 24 + 7 * len(str(name))
    return _frame(chart_id, title, summary, max(width, x), height, body)


def heatmap(chart_id: str, title: str, summary: str, rows: Sequence[str], columns: Sequence[str],
            values: Sequence[Sequence[int]]) -> Markup:
    """A matrix of counts (e.g. from which municipality to which): darker is more, and every
    cell shows its number, so the shade is never the only carrier of the value."""
    cell, left, top = 34, 150, 110
    width, height = left + cell * len(columns) + 10, top + cell * len(rows) + 10
    peak = max([v for row in values for v in row] + [1])
    body = []
    for c, name in enumerate(columns):
        x = left + c * cell + cell / 2
        body.append(f'<text transform="translate({x:.1f},{top - 6}) rotate(-60)" {FONT}>{escape(name)}</text>')
    for r, name in enumerate(rows):
        y = top + r * cell
        body.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" {FONT}>{escape(name)}</text>')
        for c, value in enumerate(values[r]):
            share = value / peak
            # one hue (blue), lightness by value: readable for every kind of colour vision
            light = round(96 - 66 * share)
            colour = f"hsl(205, 80%, {light}%)"
            ink = "#fff" if light < 55 else "#000"
            body.append(f'<rect x="{left + c * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{colour}">'
                        f'<title>{escape(name)} → {escape(columns[c])}: {value}</title></rect>')
            if value:
                body.append(f'<text x="{left + c * cell + (cell - 2) / 2:.1f}" y="{y + cell / 2 + 3:.1f}" '
                            f'text-anchor="middle" fill="{ink}" {FONT}>{value}</text>')
    return _frame(chart_id, title, summary, width, height, body)
