"""Invoice rules: Draft -> Sent -> Paid, numbering on send, freezing, totals from product lines, and
the PDF Tribe generates when an invoice is sent ([INFER] where it keeps it: sandbox/tribe/documents.py).

Tribe's strict invoicing policy (since April 2024): number and date are assigned only when the
invoice is sent; after that it cannot change, corrections go through a credit invoice. We allow
exactly one change on a sent invoice: moving its Phase to Paid.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sandbox.tribe.documents import ensure_invoice_pdf
from sandbox.tribe.errors import ODataError, bad_request
from sandbox.tribe.store import EntityStore, WritePlan

__all__ = ["InvoiceRules", "line_totals"]

INVOICE_SET = "Activity_Invoice"
LINE_SET = "ProductLine"
PHASE_SET = "Datastore_Phase_ActivityInvoice"
DEFAULT_PAYMENT_TERM_DAYS = 30
FROZEN_PHASES = ("Sent", "Paid")


def line_totals(line: dict, vat_included: bool) -> dict[str, float]:
    """Compute a product line's totals.

    Args:
        line: Values with Quantity, Price, DiscountPercentage, VatPercentage.
        vat_included: True when Price already contains VAT (the invoice's IsVatIncluded).

    Returns:
        TotalExcludingVat, TotalIncludingVat and VatAmount, rounded to cents.
    """
    quantity = line.get("Quantity") or 0
    gross = quantity * (line.get("Price") or 0) * (1 - (line.get("DiscountPercentage") or 0) / 100)
    factor = 1 + (line.get("VatPercentage") or 0) / 100
    excl, incl = (gross / factor, gross) if vat_included else (gross, gross * factor)
    excl, incl = round(excl, 2), round(incl, 2)
    return {"TotalExcludingVat": excl, "TotalIncludingVat": incl, "VatAmount": round(incl - excl, 2)}


class InvoiceRules:
    """Store rules for ``Activity_Invoice`` and ``ProductLine`` writes and deletes."""

    # ---- write hooks ---------------------------------------------------------------------
    def prepare(self, store: EntityStore, plan: WritePlan) -> None:
        if plan.set_def.name == INVOICE_SET:
            self._prepare_invoice(store, plan)
        elif plan.set_def.name == LINE_SET:
            self._prepare_line(store, plan)

    def after(self, store: EntityStore, plan: WritePlan, record: dict) -> None:
        if plan.set_def.name == INVOICE_SET:
            self.recalculate(store, record["ID"])
            if self._phase_code(store, record.get("Phase")) in FROZEN_PHASES:  # sent: Tribe made its PDF
                ensure_invoice_pdf(store, store.lookup(record["ID"]))
        elif plan.set_def.name == LINE_SET and not plan.nested:
            parents = {record.get("Activity"), (plan.existing or {}).get("Activity")}
            for parent_id in parents - {None}:
                self.recalculate(store, parent_id)
            if not self._invoice(store, record.get("Activity")):
                store.patch(record["ID"], line_totals(record, False))

    def before_delete(self, store: EntityStore, record: dict) -> list[str]:
        if record["_Type"] == "Activity.Invoice":
            self._refuse_if_frozen(store, record)
            return [line["ID"] for line in store.children(record, "ProductLines")]
        if record["_Type"] == "ProductLine":
            self._refuse_if_frozen(store, self._invoice(store, record.get("Activity")))
        return []

    def after_delete(self, store: EntityStore, record: dict) -> None:
        if record["_Type"] == "ProductLine" and self._invoice(store, record.get("Activity")):
            self.recalculate(store, record["Activity"])

    # ---- totals ------------------------------------------------------------------------
    def recalculate(self, store: EntityStore, invoice_id: str) -> None:
        """Recompute every line of an invoice and the invoice totals (no-op when unchanged)."""
        invoice = self._invoice(store, invoice_id)
        if invoice is None:
            return
        vat_included = bool(invoice.get("IsVatIncluded"))
        sums = {"TotalExcludingVat": 0.0, "TotalIncludingVat": 0.0, "VatAmount": 0.0}
        for line in store.children(invoice, "ProductLines"):
            totals = line_totals(line, vat_included)
            store.patch(line["ID"], totals)
            for key in sums:
                sums[key] += totals[key]
        sums = {key: round(value, 2) for key, value in sums.items()}
        store.patch(invoice_id, {**sums, "Amount": sums["TotalExcludingVat"]})

    # ---- invoice -----------------------------------------------------------------------
    def _prepare_invoice(self, store: EntityStore, plan: WritePlan) -> None:
        existing = plan.existing
        if existing is None:
            plan.values.setdefault("Currency", "EUR")
            plan.values.setdefault("IsVatIncluded", False)
            if plan.get("Phase") is None:
                plan.links["Phase"] = self._phase_id(store, "Draft")
        old_code = self._phase_code(store, existing.get("Phase")) if existing else "Draft"
        new_code = self._phase_code(store, plan.get("Phase"))
        if old_code in FROZEN_PHASES:
            changed = self._changed(plan)
            if changed and not (old_code == "Sent" and changed == {"Phase"} and new_code == "Paid"):
                raise ODataError(400, "InvoiceFrozen", f"Invoice {existing.get('Number')} is frozen "
                                 f"(phase {old_code}): the only allowed change is moving Phase from Sent "
                                 f"to Paid; changed: {', '.join(sorted(changed))}. Use a credit invoice "
                                 "for corrections")
            return
        if new_code == "Paid":
            raise bad_request("An invoice cannot move from Draft to Paid directly; move it to Sent first",
                              "InvalidPhaseTransition")
        if new_code == "Sent":
            self._finalise(store, plan)

    def _finalise(self, store: EntityStore, plan: WritePlan) -> None:
        """Assign number, date and due date as Tribe does when an invoice is sent."""
        relationship = store.lookup(plan.get("Relationship"))
        if relationship is None:
            raise bad_request("An invoice needs a Relationship before it can be sent", "InvalidPhaseTransition")
        if plan.get("Number") is None:
            plan.values["Number"] = self._next_number(store)
        if plan.get("InvoiceDate") is None:
            plan.values["InvoiceDate"] = store.clock.now().date().isoformat()
        term = plan.get("PaymentTermInDays")
        if term is None:
            term = relationship.get("PaymentTermInDays") or DEFAULT_PAYMENT_TERM_DAYS
            plan.values["PaymentTermInDays"] = term
        if plan.get("DueDate") is None:
            invoice_date = date.fromisoformat(plan.get("InvoiceDate"))
            plan.values["DueDate"] = (invoice_date + timedelta(days=int(term))).isoformat()

    @staticmethod
    def _next_number(store: EntityStore) -> int:
        """Next sequential number of the (clock's) year: 2026000001, 2026000002, ..."""
        year = store.clock.now().year
        base = year * 1_000_000
        used = [r["Number"] for r in store.rows(INVOICE_SET)
                if isinstance(r.get("Number"), int) and base < r["Number"] < base + 1_000_000]
        return max(used, default=base) + 1

    @staticmethod
    def _changed(plan: WritePlan) -> set[str]:
        old = plan.existing or {}
        changed = {k for k, v in {**plan.values, **plan.links}.items() if old.get(k) != v}
        return changed | set(plan.singles) | {k for k, v in plan.many.items() if v}

    # ---- product lines -----------------------------------------------------------------
    def _prepare_line(self, store: EntityStore, plan: WritePlan) -> None:
        for parent_id in {plan.get("Activity"), (plan.existing or {}).get("Activity")}:
            self._refuse_if_frozen(store, self._invoice(store, parent_id))
        if plan.existing is not None:
            return
        product = store.lookup(plan.get("Product"), "Product")
        defaults: dict[str, Any] = {"Quantity": 1, "DiscountPercentage": 0}
        if product:  # a line copies description, price, unit and VAT group from its product
            defaults.update(Description=product.get("Name"), Price=product.get("SalesPrice"))
            for nav in ("Unit", "VatGroup"):
                if plan.get(nav) is None and product.get(nav):
                    plan.links[nav] = product[nav]
        for key, value in defaults.items():
            if plan.get(key) is None:
                plan.values[key] = value
        if plan.get("VatPercentage") is None:
            vat_group = store.lookup(plan.get("VatGroup"))
            plan.values["VatPercentage"] = (vat_group or {}).get("Percentage") or 0

    # ---- helpers -----------------------------------------------------------------------
    @staticmethod
    def _invoice(store: EntityStore, entity_id: str | None) -> dict | None:
        return store.lookup(entity_id, INVOICE_SET)

    def _refuse_if_frozen(self, store: EntityStore, invoice: dict | None) -> None:
        if invoice is None:
            return
        code = self._phase_code(store, invoice.get("Phase"))
        if code in FROZEN_PHASES:
            raise ODataError(400, "InvoiceFrozen", f"Invoice {invoice.get('Number')} is frozen (phase "
                             f"{code}): its product lines cannot be created, changed or deleted")

    @staticmethod
    def _phase_code(store: EntityStore, phase_id: str | None) -> str | None:
        phase = store.lookup(phase_id, PHASE_SET)
        return phase.get("Code") if phase else None

    @staticmethod
    def _phase_id(store: EntityStore, code: str) -> str | None:
        return next((p["ID"] for p in store.rows(PHASE_SET) if p.get("Code") == code), None)
