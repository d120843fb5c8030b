"""One run's report: counts per stream, one row per invoice, the records it quarantined — as
tables for the summary task's log and as the one-line DAG-run note.

The counts come from ``sync_run``, the invoices from ``export_outcome``, the quarantine from
``quarantine`` (rows this run saw, still open): the link database, never XCom.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

__all__ = ["COLUMNS", "QUARANTINE_LIST_CAP", "RunReport", "note_text", "read_report", "render_counts",
           "render_invoices", "render_quarantine", "summarise"]

# The summary's columns, in the README's order (Operations → Watching a run says what each means).
COLUMNS = ("extracted", "retried", "mapped", "created", "updated", "linked", "skipped", "matched", "unlinked",
           "conflicts", "quarantined")
QUARANTINE_LIST_CAP = 50  # records listed by name in the summary; the total is always given
NOTE_LIMIT = 1000  # Airflow's dag_run_note.content is String(1000)


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{stream: {column: n}}`` from the ``sync_run`` rows of one run; a stream run for a scope
    other than the default is its own row, ``stream[scope]``. ``quarantined`` adds up every step's."""
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        scope = row.get("scope") or "default"
        name = row["stream"] if scope == "default" else f"{row['stream']}[{scope}]"
        stream = table.setdefault(name, dict.fromkeys(COLUMNS, 0))
        counts = row["counts"]
        for col in COLUMNS:
            if col == "quarantined":
                stream[col] += int(counts.get(col, 0))
            elif col in counts:
                stream[col] = int(counts[col])
    return table


@dataclass
class RunReport:
    streams: dict[str, dict[str, int]] = field(default_factory=dict)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def totals(self) -> dict[str, int]:
        """Counts of the whole run: per column over the streams, per status over the invoices."""
        totals: Counter[str] = Counter()
        for counts in self.streams.values():
            totals.update({c: n for c, n in counts.items() if c in ("created", "updated", "linked", "conflicts",
                                                                     "quarantined")})
        totals.update(Counter(str(i["status"]) for i in self.invoices))
        totals["quarantined"] = max(totals["quarantined"], len(self.quarantined))
        return {k: v for k, v in totals.items() if v}

    def as_xcom(self) -> dict[str, Any]:
        """Counts only (XCom carries counts, never records)."""
        return {"streams": self.streams, "totals": self.totals()}


def read_report(engine: sa.Engine, run_id: str) -> RunReport:
    from tribe_operators.store.outcomes import run_outcomes
    from tribe_operators.store.quarantine import run_quarantine
    from tribe_operators.store.runs import run_counts

    rows = run_counts(engine, run_id)
    return RunReport(streams=summarise(rows), invoices=run_outcomes(engine, run_id),
                     quarantined=run_quarantine(engine, run_id), dry_run=any(r.get("dry_run") for r in rows))


def note_text(report: RunReport) -> str | None:
    """The DAG run's note: "⚠ 7 quarantined · 238 created · 24 updated". The flag and the
    quarantine count come first, so a run that needs a look stands out in the runs list and the
    grid's tooltip; None when the run recorded nothing (not one of ours)."""
    if not report.streams and not report.invoices:
        return None
    totals = report.totals()
    quarantined = totals.pop("quarantined", 0)
    failed = totals.pop("failed", 0)
    parts = [f"{n} {name}" for name, n in totals.items()]
    flags = [f"{n} {name}" for name, n in (("quarantined", quarantined), ("failed", failed)) if n]
    text = " · ".join(flags + parts) or "nothing changed"
    if flags:
        text = "⚠ " + text
    if report.dry_run:
        text = "dry run · " + text
    return text[:NOTE_LIMIT]


def render_counts(table: dict[str, dict[str, int]]) -> str:
    width = max([len("stream"), *map(len, table)]) + 1  # "tribe_product_groups" is 20 wide
    header = f"{'stream':<{width}}" + "".join(f"{c:>12}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    lines += [f"{s:<{width}}" + "".join(f"{v[c]:>12}" for c in COLUMNS) for s, v in table.items()]
    return "\n".join(lines)


def _amount(value: Decimal | None, currency: str | None) -> str:
    return "" if value is None else f"{value:,.2f} {currency or ''}".strip()


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), "-" * len(line(headers)), *map(line, rows)])


def render_invoices(invoices: list[dict[str, Any]]) -> str:
    """One row per invoice of the run: number, customer, amount, status, scope, the accounting
    system's id and number, and the reason of a failure."""
    rows = [(str(i["number"] or ""), str(i["customer"] or ""), _amount(i["amount"], i["currency"]), str(i["status"]),
             str(i["scope"]), " ".join(p for p in (i["external_id"], i["external_number"] and f"({i['external_number']})")
                                       if p), str(i["reason"] or "")) for i in invoices]
    return _table(("invoice", "customer", "amount", "status", "scope", "accounting id", "reason"), rows)


def render_quarantine(rows: list[dict[str, Any]]) -> str:
    shown = [(f"{r['stream']}" + ("" if r["scope"] == "default" else f"[{r['scope']}]"), str(r["record_id"]),
              str(r["field"] or "-"), str(r["attempts"]), str(r["reason"])) for r in rows[:QUARANTINE_LIST_CAP]]
    text = _table(("stream", "record", "field", "tries", "reason"), shown)
    if len(rows) > QUARANTINE_LIST_CAP:
        text += f"\n… and {len(rows) - QUARANTINE_LIST_CAP} more"
    return text
