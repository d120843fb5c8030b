"""Odoo's settings keys, on top of the core's (``settings.yaml``, the settings Variable).

Per legal entity (a scope whose ``key`` is the Odoo company id): the VAT-group map (Tribe VAT
group code → the Odoo sales tax's name) and the general-ledger map (Tribe VAT group code → the
revenue account's code), as Tribe's activation steps 5 and 6 ask.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tribe_operators.mapping.settings import CoreSettings

__all__ = ["OdooSettings"]


class OdooSettings(CoreSettings):
    # tribe: Tribe's debtor / creditor number is written to the partner's ``ref``; odoo: Odoo
    # numbers a new partner itself (a partner-sequence module) and its number replaces Tribe's.
    partner_numbering: Literal["tribe", "odoo"] = "tribe"
    # Off: every invoice goes to the default legal entity (invoice_scope.default), whatever the
    # Tribe invoice says; on: the invoice's own legal entity (invoice_scope.field) decides.
    use_multiple_legal_entities: bool = False
    vat_map: dict[str, dict[str, str]] = Field(default_factory=dict)  # scope → Tribe VAT group → Odoo tax name
    ledger_map: dict[str, dict[str, str]] = Field(default_factory=dict)  # scope → Tribe VAT group → account code
    sales_journal: dict[str, str] = Field(default_factory=dict)  # scope → journal code (default: its first sales journal)

    @field_validator("vat_map", "ledger_map", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {scope: {str(k): str(v) for k, v in (codes or {}).items()} if isinstance(codes, dict) else codes
                for scope, codes in value.items()}

    @model_validator(mode="after")
    def _per_known_scope(self) -> OdooSettings:
        for key in ("vat_map", "ledger_map", "sales_journal"):
            for scope in getattr(self, key):
                if scope not in self.scopes:
                    raise ValueError(f"{key}.{scope}: {scope!r} is not one of the scopes ({', '.join(sorted(self.scopes))})")
        if not self.use_multiple_legal_entities:
            self.invoice_scope.field = None  # one legal entity: the invoice's own choice does not count
        return self
