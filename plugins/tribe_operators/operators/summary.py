"""The last task of a sync DAG: what the run did, in its log (counts per stream, one row per
invoice, the records it quarantined). The same text's one-line form becomes the run's note
(``reports.note_listener``)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tribe_operators.operators.base import TribeOperator
from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for

__all__ = ["SummaryOperator"]

log = logging.getLogger(__name__)  # as the steps log: the task log, and pytest's caplog under dag.test()


class SummaryOperator(TribeOperator):
    """Log the run's report (read from the link database) and return its counts.

    A teardown task: it runs once everything upstream is done, failed or not, and Airflow leaves
    teardowns out when it colours the run. So a failed stream or invoice makes the run red while
    the summary still reports what the others did; a plain ``all_done`` leaf would make every
    run green. Clearing one failed task re-runs that task only and the run turns green when it
    succeeds; clear the summary with it (Downstream, not only failed ones) to re-count.
    """

    template_fields: Sequence[str] = ("db_conn_id",)
    ui_color = "#f3f0e6"

    def __init__(self, *, db_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db_conn_id = db_conn_id
        self.as_teardown()

    def execute(self, context: Any) -> dict[str, Any]:
        from tribe_operators.reports.summary import (
            note_text,
            read_report,
            render_counts,
            render_invoices,
            render_matches,
            render_preview,
            render_quarantine,
        )

        run_id = context["run_id"]
        report = read_report(engine_for(self.db_conn_id), run_id)
        if report.streams and report.dry_run:  # the initial import's count first: nothing was written
            log.info("preview of the import (dry run: nothing written) for %s\n%s", run_id, render_preview(report))
        if report.streams:
            log.info("sync summary for %s\n%s", run_id, render_counts(report.streams))
        if report.budget_line():  # a step stopped early: the vendor's daily budget is spent
            log.warning("%s; what was read is kept and the next run after that goes on from there",
                        report.budget_line())
        if report.matched_by_number:  # applied, and worth a look: numbers of two sequences can meet
            log.info("%s", render_matches(report))
        if report.invoices or not report.streams:
            log.info("invoices of %s (%d)\n%s", run_id, len(report.invoices), render_invoices(report.invoices))
        if report.quarantined:
            log.warning("%d record(s) quarantined in %s (fix them at the source: the next run retries them; "
                             "or dismiss them on the tribe-sync page)\n%s", len(report.quarantined), run_id,
                             render_quarantine(report.quarantined))
        log.info("note: %s", note_text(report))
        return report.as_xcom()
