"""Invoice export operators: find the Sent invoices, then one mapped task per invoice."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from tribe_operators.exceptions import FatalError, RecordError
from tribe_operators.mapping.settings import stream_enabled
from tribe_operators.operators.base import SyncOperator
from tribe_operators.sync.context import StepContext

__all__ = ["ExportInvoiceOperator", "FindSentInvoicesOperator"]

log = logging.getLogger(__name__)  # as the steps log: the task log, and pytest's caplog under dag.test()


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
        from tribe_operators.registry import get_system

        return get_system(ctx.spec.source.system).adapter("invoices", self.tribe_conn_id, settings=ctx.settings)

    def accounting(self, role: str, ctx: StepContext) -> Any:
        """The accounting system's ``invoices`` or ``payments`` adapter for ``ctx.scope``."""
        from tribe_operators.registry import get_system

        scope = (ctx.settings.get("scopes") or {}).get(ctx.scope)
        if scope is None:
            raise AirflowFailException(f"scope {ctx.scope!r} is not in the {self.integration} settings' scopes")
        return get_system(self.integration).adapter(role, self.conn_id, {**scope, "name": ctx.scope}, ctx.settings)


class FindSentInvoicesOperator(_InvoiceBase):
    """List the Sent invoices that still need exporting → ``[{tribe_id, number, customer, amount,
    currency, scope}]`` (XCom: ids, and what each task's label says).

    Args:
        invoice_ids: Only these Tribe ids (a webhook-triggered run).
        invoice_numbers: Only these invoice numbers (on-call retrying one invoice by the number
            the errors and labels show).
        limit: At most this many per run (Airflow's ``max_map_length`` is 1024); the rest
            are picked up by the next run.
    """

    template_fields: Sequence[str] = (*_InvoiceBase.template_fields, "invoice_ids", "invoice_numbers")

    def __init__(self, *, invoice_ids: Any = None, invoice_numbers: Any = None, limit: int = 500,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoice_ids = invoice_ids
        self.invoice_numbers = invoice_numbers
        self.limit = limit

    def execute(self, context: Any) -> list[dict[str, str]]:
        # Task-time imports: HTTP, mapping and ledger stay out of DAG parsing (bench/parse.py).
        from tribe_operators.store.ledger import ExportLedger

        ctx = self.invoice_context(context)
        if not stream_enabled(ctx.settings, "invoices"):
            raise AirflowSkipException(f"invoices is not in enabled_streams of the {self.integration} settings")
        from tribe_operators.sync.invoices import select_sent_invoices

        only = self.invoice_ids if isinstance(self.invoice_ids, list) and self.invoice_ids else None
        numbers = invoice_numbers(self.invoice_numbers)
        exported: list[dict[str, Any]] = []
        found = select_sent_invoices(self.invoice_source(ctx), lambda scope: ExportLedger(ctx.engine, self.integration,
                                                                                           scope),
                                     ctx.settings, only=only, numbers=numbers or None, exported=exported)
        for item in exported:
            self.log.info("invoice %s is exported already (%s %s, ledger state %s): nothing to do", item["number"],
                          self.integration, item["external_number"] or item["external_id"], item["state"])
        if numbers:
            missing = sorted(set(map(str, numbers)) - {i["number"] for i in [*found, *exported]})
            if missing:
                self.log.warning("no Sent or Paid invoice in Tribe with number %s", ", ".join(missing))
                if not found and not exported:
                    raise AirflowFailException(f"invoice_numbers: no Sent or Paid invoice in Tribe has number "
                                               f"{', '.join(missing)}")
        if only is None and not numbers:
            found = self._without_held(ctx, found)
        self.log.info("%d invoice(s) to export%s", len(found), f" (first {self.limit})" if len(found) > self.limit else "")
        for item in found:
            if item["scope"] is None:
                self.log.warning("invoice %s: %s", item["number"], item["error"])
        return found[: self.limit]


    def _without_held(self, ctx: StepContext, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A poll (scheduled or unnarrowed run) leaves invoices held in quarantine to the run that
        failed them: retried every 5 minutes, each would fail a new run, and Retry now could turn
        only the last of those green. Retry now (it clears the failed task in that run), a run
        naming the invoice (``invoice_ids`` / ``invoice_numbers``) or a Tribe webhook for it
        tries it again."""
        from tribe_operators.store.quarantine import held_records

        held = held_records(ctx.engine, self.integration, "invoices", [str(i["tribe_id"]) for i in found])
        for item in (i for i in found if str(i["tribe_id"]) in held):
            row = held[str(item["tribe_id"])]
            how = f"dismissed by {row['dismissed_by']}" if row["dismissed_by"] else f"failed in run {row['run_id']}"
            self.log.warning("invoice %s is held in quarantine (%s): %s — left to Retry now on the tribe-sync page, "
                             "or a run with invoice_numbers [%s]", item["number"], how, row["reason"], item["number"])
        return [i for i in found if str(i["tribe_id"]) not in held]


class ExportInvoiceOperator(_InvoiceBase):
    """Export one invoice (mapped: ``.partial(...).expand(invoice=...)``).

    A bad invoice is quarantined and fails *its own* task without retries (fix it in Tribe,
    then clear the task), as does a configuration fault (``FatalError``: fix the connection or
    the settings); a transient error fails it with retries, safe thanks to the ledger.
    """

    template_fields: Sequence[str] = (*_InvoiceBase.template_fields, "invoice")

    def __init__(self, *, invoice: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoice = invoice

    def execute(self, context: Any) -> dict[str, Any]:
        from tribe_operators.sync.invoices import export_invoice, quarantine_invoice

        context["invoice_number"] = self.invoice.get("number")
        context["invoice_label"] = invoice_label(self.invoice)
        ctx = self.invoice_context(context, self.invoice.get("scope"))
        try:
            if self.invoice.get("scope") is None and self.invoice.get("error"):  # no scope serves it
                error = RecordError(self.invoice.get("field"), str(self.invoice["error"]))
                quarantine_invoice(ctx, {"ID": self.invoice["tribe_id"], "Number": self.invoice.get("number")}, error)
                raise error
            result = export_invoice(ctx, self.invoice_source(ctx), self.accounting("invoices", ctx),
                                    self.invoice["tribe_id"])
        except RecordError as exc:
            reason = one_line(exc)
            self.record(ctx, "failed", reason=f"{reason} (quarantined)")
            headline = f"invoice {self.invoice.get('number')} NOT exported: {reason}"
            # The reason first, on one line; then one traceback: where it was raised, not a second
            # one for this exception wrapped around it.
            log.error("%s (quarantined: fix it, then Retry now on the tribe-sync page)", headline)
            raise AirflowFailException(headline).with_traceback(exc.__traceback__) from None
        except FatalError as exc:  # configuration: the task fails at once (operators.base.fails_fast)
            self.record(ctx, "failed", reason=f"{one_line(exc)} (configuration: fix it, then Retry now)")
            raise
        except Exception as exc:  # transient: Airflow retries the task, the ledger keeps that safe
            reason = f"{type(exc).__name__}: {one_line(exc)}"
            self.record(ctx, "failed", reason=f"{reason} (the task is retried)")
            log.error("invoice %s not exported in this try: %s (the task is retried)", self.invoice.get("number"),
                      reason)
            raise
        self.record(ctx, str(result["status"]), external_id=result.get("external_id"),
                    external_number=result.get("number"))
        self.log.info("invoice %s: %s", self.invoice.get("number"), result)
        return result

    def record(self, ctx: StepContext, status: str, **outcome: Any) -> None:
        """This invoice's row in the run's summary (``export_outcome``). A report that cannot be
        written is logged, never allowed to change the export's own outcome (a quarantined
        invoice must fail without retries, an exported one must not be retried)."""
        from tribe_operators.store.outcomes import record_outcome

        try:
            record_outcome(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=self.integration,
                           scope=self.invoice.get("scope"), tribe_id=self.invoice["tribe_id"], status=status,
                           number=self.invoice.get("number"), customer=self.invoice.get("customer"),
                           amount=self.invoice.get("amount"), currency=self.invoice.get("currency"),
                           reason=outcome.pop("reason", None), **outcome)
        except Exception:  # noqa: BLE001 - the summary loses a row; the log says which and why
            self.log.exception("invoice %s: its row in the run's summary could not be written",
                               self.invoice.get("number"))


def one_line(exc: BaseException) -> str:
    """An error's message on one line (a refusal's text may span several)."""
    return " ".join(str(exc).split())


def invoice_label(invoice: dict[str, Any]) -> str:
    """What an invoice task is called in the grid: "10001 · Fjord Consulting AS · NOK 1,250.00"."""
    amount = invoice.get("amount")
    money = None
    if amount not in (None, ""):
        try:
            shown = f"{float(amount):,.2f}"
        except ValueError:  # the label shows what Tribe holds; the export names the fault
            shown = str(amount)
        money = " ".join(p for p in (invoice.get("currency"), shown) if p)
    return " · ".join(str(p) for p in (invoice.get("number"), invoice.get("customer"), money) if p)


def invoice_numbers(value: Any) -> list[int]:
    """The ``invoice_numbers`` Param: a list (or a comma-separated text) of invoice numbers.

    Raises:
        AirflowFailException: an entry is not a number (named).
    """
    if value in (None, "", "None", []):
        return []
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    numbers = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit():
            raise AirflowFailException(f"invoice_numbers: {text!r} is not an invoice number (digits only, e.g. 10001)")
        numbers.append(int(text))
    return numbers
