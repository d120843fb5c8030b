"""Which rules serve which entity set (bulk and sync twins share their base set's rules)."""
from __future__ import annotations

from sandbox.exact.bankentry import EntryLineRules, FinancialEntryRules
from sandbox.exact.divisions import DeletedRules, DivisionRules
from sandbox.exact.documents import AttachmentRules, DocumentRules
from sandbox.exact.entities import EntitySpec
from sandbox.exact.masterdata import AccountRules, ContactRules, ItemRules
from sandbox.exact.rules import Rules
from sandbox.exact.salesentry import LineRules, ReceivablesListRules, SalesEntryRules
from sandbox.exact.webhooks import SubscriptionRules

__all__ = ["rules_for"]

_PLAIN = Rules()
_BY_TABLE: dict[str, Rules] = {
    "crm/accounts": AccountRules(), "crm/contacts": ContactRules(), "logistics/items": ItemRules(),
    "salesentry/salesentries": SalesEntryRules(), "salesentry/salesentrylines": LineRules(),
    "documents/documents": DocumentRules(), "documents/documentattachments": AttachmentRules(),
    "financialtransaction/bankentries": FinancialEntryRules("financialtransaction/BankEntryLines", 12),
    "financialtransaction/cashentries": FinancialEntryRules("financialtransaction/CashEntryLines", 10),
    "financialtransaction/bankentrylines": EntryLineRules(), "financialtransaction/cashentrylines": EntryLineRules(),
    "read/financial/receivableslist": ReceivablesListRules(), "webhooks/webhooksubscriptions": SubscriptionRules(),
    "system/divisions": DivisionRules(accessible_only=True), "hrm/divisions": DivisionRules(accessible_only=False),
    "system/alldivisions": DivisionRules(accessible_only=False), "sync/deleted": DeletedRules(),
}


def rules_for(spec: EntitySpec) -> Rules:
    return _BY_TABLE.get(spec.table.lower(), _PLAIN)
