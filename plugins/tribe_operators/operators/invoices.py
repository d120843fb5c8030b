"""Invoice export operators: find the Sent invoices, then one mapped task per invoice."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from tribe_operators.exceptions import RecordError
from tribe_operators.mapping.settings import stream_enabled
from tribe_operators.operators.base import SyncOperator
from tribe_operators.sync.context import StepContext

__all__ = ["ExportInvoiceOperator", "FindSentInvoicesOperator"]


class _InvoiceBase(SyncOperator):
    """Args: integration (the accounting system's mapping folder and registry name),
    conn_id (its connection; default: the system's), tribe_conn_id."""

    template_fields: Sequence[str] = (*SyncOperator.template_fields, "integration", "conn_id", "tribe_conn_id")

    def __init__(self, *, integration: str, conn_id: str | None = None, tribe_conn_id: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration
        self.conn_id = conn_id
        self.tribe_conn_id = tribe_conn_id

    def invoice_context(self, context: Any, scope: str | None = None) -> StepContext:
        if scope is not None:
            self.scope = scope
        return self.step_context(context, self.integration, "invoices")

    def invoice_source(self, ctx: StepContext) -> Any:
        """Where invoices come from: the CRM's invoice adapter."""
        from tribe_operators.systems.registry import get_system

        return get_system(ctx.spec.source.system).flow_adapter("invoices", ctx.settings, conn_id=self.tribe_conn_id)

    def accounting(self, role: str, ctx: StepContext) -> Any:
        """The accounting system's ``invoices`` or ``payments`` adapter for ``ctx.scope``."""
        from tribe_operators.systems.registry import get_system

        scope = (ctx.settings.get("scopes") or {}).get(ctx.scope)
        if scope is None:
            raise AirflowFailException(f"scope {ctx.scope!r} is not in the {self.integration} settings' scopes")
        return get_system(self.integration).flow_adapter(role, ctx.settings, {**scope, "name": ctx.scope},
                                                         conn_id=self.conn_id)


class FindSentInvoicesOperator(_InvoiceBase):
    """List the Sent invoices that still need exporting → ``[{tribe_id, number}]`` (XCom: ids only).

    Args:
        invoice_ids: Only these (a webhook-triggered run, or on-call retrying one invoice).
        limit: At most this many per run (Airflow's ``max_map_length`` is 1024); the rest
            are picked up by the next run.
    """

    template_fields: Sequence[str] = (*_InvoiceBase.template_fields, "invoice_ids")

    def __init__(self, *, invoice_ids: Any = None, limit: int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoice_ids = invoice_ids
        self.limit = limit

    def execute(self, context: Any) -> list[dict[str, str]]:
        # Task-time imports: HTTP, mapping and ledger stay out of DAG parsing (bench/parse.py).
        from tribe_operators.store.ledger import ExportLedger

        ctx = self.invoice_context(context)
        if not stream_enabled(ctx.settings, "invoices"):
            raise AirflowSkipException(f"invoices is not in enabled_streams of the {self.integration} settings")
        from tribe_operators.sync.invoices import select_sent_invoices

        only = self.invoice_ids if isinstance(self.invoice_ids, list) and self.invoice_ids else None
        found = select_sent_invoices(self.invoice_source(ctx), lambda scope: ExportLedger(ctx.engine, self.integration,
                                                                                           scope),
                                     ctx.settings, only=only)
        self.log.info("%d invoice(s) to export%s", len(found), f" (first {self.limit})" if len(found) > self.limit else "")
        for item in found:
            if item["scope"] is None:
                self.log.warning("invoice %s: %s", item["number"], item["error"])
        return found[: self.limit]


class ExportInvoiceOperator(_InvoiceBase):
    """Export one invoice (mapped: ``.partial(...).expand(invoice=...)``).

    A bad invoice is quarantined and fails *its own* task without retries (fix it in Tribe,
    then clear the task); a transient error fails it with retries, safe thanks to the ledger.
    """

    template_fields: Sequence[str] = (*_InvoiceBase.template_fields, "invoice")

    def __init__(self, *, invoice: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoice = invoice

    def execute(self, context: Any) -> dict[str, Any]:
        from tribe_operators.sync.invoices import export_invoice, quarantine_invoice

        context["invoice_number"] = self.invoice.get("number")
        ctx = self.invoice_context(context, self.invoice.get("scope"))
        try:
            if self.invoice.get("scope") is None and self.invoice.get("error"):  # no scope serves it
                error = RecordError(self.invoice.get("field"), str(self.invoice["error"]))
                quarantine_invoice(ctx, {"ID": self.invoice["tribe_id"], "Number": self.invoice.get("number")}, error)
                raise error
            result = export_invoice(ctx, self.invoice_source(ctx), self.accounting("invoices", ctx),
                                    self.invoice["tribe_id"])
        except RecordError as exc:
            raise AirflowFailException(f"invoice {self.invoice.get('number')}: {exc} (quarantined)") from exc
        self.log.info("invoice %s: %s", self.invoice.get("number"), result)
        return result
