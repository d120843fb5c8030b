"""The runs of one integration as a picture: one stacked bar per run (created, updated, linked,
quarantined; invoices by status; payments paid and partial), oldest left, a red mark under a
run that quarantined or failed.
Plain SVG rendered here: no JavaScript library, nothing fetched from outside the API server."""
from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["COLOURS", "runs_chart"]

COLOURS = {"created": "#2f855a", "updated": "#3182ce", "linked": "#805ad5", "quarantined": "#dd6b20",
           "draft": "#63b3ed", "booked": "#2c7a7b", "posted": "#2c7a7b", "failed": "#c53030", "paid": "#38a169",
           "partial": "#9ae6b4"}
SERIES = ("created", "updated", "linked", "draft", "booked", "posted", "paid", "partial", "quarantined", "failed")
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 760, 220, 44, 34, 12


def runs_chart(runs: list[dict[str, Any]]) -> str:
    """An ``<svg>`` of ``runs`` (``data.recent_runs``); each bar has a tooltip with the run and its counts."""
    if not runs:
        return '<p class="empty">No runs recorded yet.</p>'
    peak = max(1, *(sum(r["counts"].get(s, 0) for s in SERIES) for r in runs))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / len(runs)
    bar = max(3.0, min(28.0, step * 0.7))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'aria-label="counts per run, {len(runs)} runs">']
    for frac in (0, 0.5, 1):  # the scale: 0, half, the peak
        y = PAD_TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{round(peak * frac)}</text>')
    for i, run in enumerate(runs):
        x = PAD_LEFT + i * step + (step - bar) / 2
        y = PAD_TOP + plot_h
        tip = escape(f"{run['run_id']} ({run['dag_id']})\n" +
                     ", ".join(f"{k} {v}" for k, v in sorted(run["counts"].items())))
        parts.append(f'<g class="run" data-run="{escape(run["run_id"])}"><title>{tip}</title>')
        for series in SERIES:
            n = run["counts"].get(series, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 1):.1f}" '
                         f'fill="{COLOURS[series]}" data-series="{series}"/>')
        if run["counts"].get("quarantined") or run["counts"].get("failed"):
            parts.append(f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h + 4}" width="{bar:.1f}" height="4" '
                         f'class="flag"/>')
        parts.append("</g>")
    first, last = runs[0]["started"], runs[-1]["started"]
    for x, moment, anchor in ((PAD_LEFT, first, "start"), (WIDTH - 8, last, "end")):
        if moment is not None:
            parts.append(f'<text x="{x}" y="{HEIGHT - 8}" class="axis" text-anchor="{anchor}">'
                         f'{moment:%d %b %H:%M} UTC</text>')
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><i style="background:{COLOURS[s]}"></i>{s}</span>' for s in SERIES
                     if any(r["counts"].get(s) for r in runs))
    return "".join(parts) + f'<div class="legend">{legend}</div>'
