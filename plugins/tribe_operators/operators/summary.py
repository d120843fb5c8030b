"""The last task of a sync DAG: one readable table of what every stream did."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for
from tribe_operators.store.runs import run_counts

__all__ = ["SummaryOperator", "summarise"]

COLUMNS = ("extracted", "retried", "mapped", "created", "updated", "linked", "skipped", "matched", "unlinked",
           "quarantined")


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{stream: {column: n}}`` from the ``sync_run`` rows of one run; a stream run for a scope
    other than the default is its own row, ``stream[scope]``."""
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


def render(table: dict[str, dict[str, int]]) -> str:
    width = max([len("stream"), *map(len, table)]) + 1  # "tribe_product_groups" is 20 wide
    header = f"{'stream':<{width}}" + "".join(f"{c:>12}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    lines += [f"{s:<{width}}" + "".join(f"{v[c]:>12}" for c in COLUMNS) for s, v in table.items()]
    return "\n".join(lines)


class SummaryOperator(BaseOperator):
    """Log and return the per-stream counts of this run (read from ``sync_run``).

    A teardown task: it runs once everything upstream is done, failed or not, and Airflow leaves
    teardowns out when it colours the run. So a failed stream or invoice makes the run red while
    the summary still reports what the others did; a plain ``all_done`` leaf would make every
    run green. Clearing one failed task re-runs that task only and the run turns green when it
    succeeds; clear the summary with it (Downstream, not only failed ones) to re-count.
    """

    template_fields: Sequence[str] = ("db_conn_id",)

    def __init__(self, *, db_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db_conn_id = db_conn_id
        self.as_teardown()

    def execute(self, context: Any) -> dict[str, dict[str, int]]:
        table = summarise(run_counts(engine_for(self.db_conn_id), context["run_id"]))
        self.log.info("sync summary for %s\n%s", context["run_id"], render(table))
        return table
