"""One run's report: counts per stream, one row per invoice, the records it quarantined — as
tables for the summary task's log and as the one-line DAG-run note.

The counts come from ``sync_run``, the invoices from ``export_outcome``, the quarantine from
``quarantine`` (rows this run saw, still open): the link database, never XCom.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

__all__ = ["COLUMNS", "QUARANTINE_LIST_CAP", "RunReport", "needs_a_look", "note_text", "preview_lines", "read_report",
           "render_counts", "render_invoices", "render_matches", "render_preview", "render_quarantine", "summarise"]

# The summary's columns, in the README's order (Operations → Watching a run says what each means).
COLUMNS = ("extracted", "retried", "mapped", "created", "updated", "linked", "skipped", "matched", "unlinked",
           "conflicts", "differences", "quarantined")
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


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass
class RunReport:
    streams: dict[str, dict[str, int]] = field(default_factory=dict)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    started_at: datetime | None = None  # when its first step started (None: an invoice run records no steps)
    # Applied matches by a number key (one whose names are checked): {(stream, key): n}, and the first rows.
    matched_by_number: dict[tuple[str, str], int] = field(default_factory=dict)
    matches: list[dict[str, Any]] = field(default_factory=list)
    # A vendor's daily budget spent in this run (a step stopped early): when it comes back.
    budget_resumes_at: datetime | None = None

    def budget_line(self) -> str | None:
        """"budget spent, resumes after 00:00 UTC" when a step stopped for it, else None."""
        when = self.budget_resumes_at
        return f"budget spent, resumes after {when:%H:%M} UTC" if when is not None else None

    def is_new(self, row: dict[str, Any]) -> bool:
        """Quarantined in this run's window, not open from before (every run tries the open
        quarantine again, so a backfill's every day sees the same old rows): first seen since the
        run started; in a run without steps (invoices), its first sighting."""
        if "new" in row:  # decided by read_report
            return bool(row["new"])
        first = _aware(row.get("first_seen_at"))
        if self.started_at is not None and first is not None:
            return first >= self.started_at
        return int(row.get("attempts") or 1) <= 1

    def totals(self) -> dict[str, int]:
        """Counts of the whole run: per column over the streams, per status over the invoices;
        ``quarantined`` those new in this run, ``still_open`` those open from before it."""
        totals: Counter[str] = Counter()
        for counts in self.streams.values():
            totals.update({c: n for c, n in counts.items() if c in ("created", "updated", "linked", "conflicts",
                                                                     "differences", "quarantined")})
        totals.update(Counter(str(i["status"]) for i in self.invoices))
        before = sum(not self.is_new(r) for r in self.quarantined)
        # The steps count every record they quarantined, old ones seen again included (and a dry
        # run's, which are on no row).
        totals["quarantined"] = max(totals["quarantined"] - before, len(self.quarantined) - before)
        totals["still_open"] = before
        totals["matched by number"] = sum(self.matched_by_number.values())
        return {k: v for k, v in totals.items() if v}

    def as_xcom(self) -> dict[str, Any]:
        """Counts only (XCom carries counts, never records)."""
        return {"streams": self.streams, "totals": self.totals()}


def read_report(engine: sa.Engine, run_id: str) -> RunReport:
    from tribe_operators.store.outcomes import run_outcomes
    from tribe_operators.store.quarantine import run_quarantine
    from tribe_operators.store.runs import run_counts

    rows = run_counts(engine, run_id)
    started = [_aware(r["started_at"]) for r in rows if r.get("started_at") is not None]
    report = RunReport(streams=summarise(rows), invoices=run_outcomes(engine, run_id),
                       quarantined=run_quarantine(engine, run_id), dry_run=any(r.get("dry_run") for r in rows),
                       started_at=min(started) if started else None)
    resumes = [int(r["counts"]["budget_resumes_at"]) for r in rows if (r.get("counts") or {}).get("budget_resumes_at")]
    report.budget_resumes_at = datetime.fromtimestamp(max(resumes), UTC) if resumes else None
    for row in report.quarantined:  # so that the rows alone tell (render_quarantine)
        row["new"] = report.is_new(row)
    if not report.dry_run:
        report.matched_by_number, report.matches = _number_matches(engine, run_id, rows)
    return report


def _number_matches(engine: sa.Engine, run_id: str, rows: list[dict[str, Any]]) -> tuple[dict[tuple[str, str], int],
                                                                                          list[dict[str, Any]]]:
    """Matches by the keys whose names dedupe checks (``confirm_name``: numbers two sequences can
    share), applied in this run's loads — listed apart so a person can look them over."""
    from tribe_operators.exceptions import MappingConfigError
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.store.staging import run_matches

    keys: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row["step"] != "load" or not row["counts"].get("matched"):
            continue
        try:
            spec = load_stream(row["integration"], row["stream"])
        except (MappingConfigError, OSError):  # not a mapped stream (payments)
            continue
        labels = {f"match:{'+'.join(k.match)}" for k in spec.dedupe if k.match and k.confirm_name}
        if labels:
            keys[(row["integration"], row["stream"])] = labels
    return run_matches(engine, run_id, keys) if keys else ({}, [])


def render_matches(report: RunReport) -> str:
    """"matched by number: 5 (customers DebtorNumber 3, suppliers CreditorNumber 2)" and the
    first of them: stream, record, key, the target record it was bound to."""
    per = ", ".join(f"{stream} {key.removeprefix('match:')} {n}" for (stream, key), n in
                    sorted(report.matched_by_number.items()))
    head = f"matched by number: {sum(report.matched_by_number.values())} ({per})"
    shown = [(str(m["stream"]), str(m["source_id"]), str(m["match_keys"]).removeprefix("match:"), str(m["target_id"]))
             for m in report.matches]
    text = head + "\n" + _table(("stream", "record", "matched by", "bound to"), shown)
    total = sum(report.matched_by_number.values())
    if total > len(shown):
        text += f"\n… and {total - len(shown)} more"
    return text


def needs_a_look(report: RunReport) -> bool:
    """Did this run quarantine a record in its window, fail an invoice, or find the two systems
    disagree in a way no rule settles (a payment one side has and the other cannot be given)?
    (Records open from before are the run that quarantined them's flag, not this one's.)"""
    totals = report.totals()
    return bool(totals.get("quarantined") or totals.get("failed") or totals.get("differences"))


def note_text(report: RunReport) -> str | None:
    """The DAG run's note: "⚠ 2 quarantined · 19 still open from before · 238 created". The flag
    and what this run quarantined come first, then what is still open from earlier runs (tried
    again, still bad); None when the run recorded nothing (not one of ours)."""
    if not report.streams and not report.invoices:
        return None
    totals = report.totals()
    quarantined = totals.pop("quarantined", 0)
    failed = totals.pop("failed", 0)
    differences = totals.pop("differences", 0)
    before = totals.pop("still_open", 0)
    parts = [f"{n} {name}" for name, n in totals.items()]
    flags = [f"{n} {name}" for name, n in (("quarantined", quarantined), ("failed", failed),
                                           ("differences", differences)) if n]
    older = [f"{before} still open from before"] if before else []
    budget = [line] if (line := report.budget_line()) else []
    text = " · ".join(flags + budget + older + (parts or ([] if flags or budget else ["nothing changed"])))
    if flags or budget:
        text = "⚠ " + text
    if report.dry_run:
        # A preview (the initial import's count first): what each stream would do, first.
        text = " · ".join(["preview", *preview_lines(report), *budget]) if report.streams else "dry run · " + text
    return text[:NOTE_LIMIT]


# A preview's columns: the summary's, as what the import would do.
_PREVIEW = (("read", ("extracted",)), ("create", ("created",)), ("update", ("updated",)), ("link", ("linked",)),
            ("unchanged", ("skipped",)), ("quarantine", ("quarantined",)))


def preview_lines(report: RunReport) -> list[str]:
    """"customers: read 27, create 24, update 0, link 0, unchanged 0, quarantine 3", per stream."""
    return [f"{stream}: " + ", ".join(f"{label} {sum(counts.get(c, 0) for c in cols)}" for label, cols in _PREVIEW)
            for stream, counts in report.streams.items()]


def render_preview(report: RunReport) -> str:
    """A dry run's counts as what the import of the same range would do, one row per stream
    (a stream of another scope than the default: ``stream[scope]``). Nothing was written."""
    width = max([len("stream"), *map(len, report.streams)]) + 1
    header = f"{'stream':<{width}}" + "".join(f"{label:>12}" for label, _ in _PREVIEW)
    rows = [f"{s:<{width}}" + "".join(f"{sum(v.get(c, 0) for c in cols):>12}" for _, cols in _PREVIEW)
            for s, v in report.streams.items()]
    return "\n".join([header, "-" * len(header), *rows])


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
    system's id and number, and the reason of a failure — which also heads the table, one line
    per failed invoice, where a wide table cannot push it off-screen."""
    failed = [f"invoice {i['number'] or i.get('tribe_id')} NOT exported: {i['reason']}" for i in invoices
              if i["status"] == "failed"]
    rows = [(str(i["number"] or ""), str(i["customer"] or ""), _amount(i["amount"], i["currency"]), str(i["status"]),
             str(i["scope"]), " ".join(p for p in (i["external_id"], i["external_number"] and f"({i['external_number']})")
                                       if p), str(i["reason"] or "")) for i in invoices]
    table = _table(("invoice", "customer", "amount", "status", "scope", "accounting id", "reason"), rows)
    return "\n".join([*failed, table])


def render_quarantine(rows: list[dict[str, Any]]) -> str:
    """The records, new ones first (``since``: "this run", or when one open from before was first
    seen); ``read_report``'s rows say which are new."""
    report = RunReport(quarantined=rows)
    new = [r for r in rows if report.is_new(r)]
    older = [r for r in rows if not report.is_new(r)]
    head = f"{len(new)} quarantined in this run's window, {len(older)} still open from before (tried again)"

    def since(row: dict[str, Any]) -> str:
        first = _aware(row.get("first_seen_at"))
        return "this run" if report.is_new(row) else (f"{first:%Y-%m-%d %H:%M}" if first else "before")

    shown = [(f"{r['stream']}" + ("" if r["scope"] == "default" else f"[{r['scope']}]"), str(r["record_id"]),
              str(r["field"] or "-"), str(r["attempts"]), since(r), str(r["reason"]))
             for r in [*new, *older][:QUARANTINE_LIST_CAP]]
    text = head + "\n" + _table(("stream", "record", "field", "tries", "since", "reason"), shown)
    if len(rows) > QUARANTINE_LIST_CAP:
        text += f"\n… and {len(rows) - QUARANTINE_LIST_CAP} more"
    return text
