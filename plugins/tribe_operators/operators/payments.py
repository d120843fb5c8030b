"""Payment sync operator: the accounting system's settlements → Tribe invoice phase."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from tribe_operators.mapping.settings import stream_enabled
from tribe_operators.operators.invoices import _InvoiceBase
from tribe_operators.store.runs import record_step
from tribe_operators.sync.context import is_backfill, read_interval, resolve_window
from tribe_operators.timeutil import parse_timestamp

__all__ = ["SyncPaymentsOperator"]


class SyncPaymentsOperator(_InvoiceBase):
    """Read what was paid in the run's data interval (the system's payment flow); Paid in Tribe.

    One scope per task (``scope``); a DAG serving several maps it over ``ListScopesOperator``,
    each with its own connection, ledger, watermark and counts."""

    def execute(self, context: Any) -> dict[str, int]:
        from datetime import UTC, datetime

        started = datetime.now(UTC)
        context["scope_name"] = self.scope  # the mapped task's label (map_index_template)
        ctx = self.invoice_context(context)
        if not stream_enabled(ctx.settings, "payments"):
            raise AirflowSkipException(f"payments is not in enabled_streams of the {self.integration} settings")
        # A manual or webhook run reads up to when it was triggered, not the last hour that ended.
        interval = tuple(parse_timestamp(v) if v else None for v in read_interval(context))
        overlap = timedelta(seconds=int(ctx.settings.get("overlap_seconds", 300)))
        ctx.window = resolve_window(ctx.watermarks.get("payments", "import"), interval, overlap=overlap,  # type: ignore[arg-type]
                                    exact=is_backfill(context))
        from tribe_operators.sync.payments import sync_payments

        counts = sync_payments(ctx, self.accounting("payments", ctx), self.invoice_source(ctx))
        if not ctx.dry_run and ctx.window[1] is not None:
            ctx.watermarks.advance("payments", "import", ctx.window[1], ctx.run_id, since=ctx.window[0])
        record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=self.integration, scope=ctx.scope, stream="payments",
                    step="load", counts=counts, started_at=started, dry_run=ctx.dry_run, window=ctx.window)
        self.log.info("payments %s: %s", ctx.window, counts)
        return counts
