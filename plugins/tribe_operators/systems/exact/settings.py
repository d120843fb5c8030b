"""Exact Online's settings keys, on top of the core's (``settings.yaml``, the settings Variable).

Scopes are divisions: each scope's ``key`` is the division number (``/api/v1/{division}``), and
each keeps its own links, staging, watermarks, cursors and counts.

``relation_types`` (the seed's "General" step) maps Tribe's commercial relationship types to
Exact's account ``Status`` codes, read both ways: checked here against what each side has, so a
code Exact would refuse, or one read as two Tribe types, fails before any record moves.
``filters`` (the seed's "Sync and Filter" step) must name streams Exact has.

``invoices`` (the seed's "Select the Journal to export invoices to" and "Configure VAT Mapping"),
per division (scope name): the sales journal's code, and per Tribe VAT group the Exact VAT code
and the revenue general-ledger account's code of each line. Whether those codes exist in the
division is checked per invoice against Exact's own tables before any booking is sent.

``payments`` (the seed: "When the invoice is paid, the status is updated automatically in both
systems"), per division: the bank or cash journal a payment Tribe knows of first is booked in.
A division without it has such invoices reported as a difference instead.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tribe_operators.mapping.filters import unknown_streams
from tribe_operators.mapping.settings import CoreSettings

__all__ = ["EXACT_STATUSES", "TRIBE_COMMERCIAL_TYPES", "DivisionInvoices", "DivisionPayments", "ExactSettings"]

# An Exact account's Status (reference §3.1, picqer's docblock from Exact): empty or A = none.
EXACT_STATUSES = {"C": "customer", "P": "prospect", "S": "suspect", "A": "none"}
# Tribe's commercial funnel (Relationship_Organization_CommercialRelationship_<type>; reference
# "Relationships"): the relationship types an account's Status can stand for.
TRIBE_COMMERCIAL_TYPES = ("Suspect", "Lead", "HotProspect", "Prospect", "Customer")


def journal_code(value: Any, what: str) -> Any:
    """A journal's code as text (YAML reads ``70`` as a number); empty is refused naming ``what``."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else value
    if text == "":
        raise ValueError(f"name {what}")
    return text


class DivisionInvoices(BaseModel):
    """Where one division books Tribe's invoices (``invoices.<scope>``)."""

    model_config = ConfigDict(extra="forbid")

    journal: str  # the sales journal's code (Exact references a journal by its code: "70")
    vat_codes: dict[str, str] = Field(default_factory=dict)  # Tribe VAT group code → Exact VAT code
    gl_accounts: dict[str, str] = Field(default_factory=dict)  # Tribe VAT group code → revenue GL account code

    @field_validator("journal", mode="before")
    @classmethod
    def _journal_as_text(cls, value: Any) -> Any:
        return journal_code(value, "the sales journal's code (e.g. \"70\")")

    @field_validator("vat_codes", "gl_accounts", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for tribe, code in value.items():
            if code in (None, "") or isinstance(code, (bool, dict, list)):
                raise ValueError(f"{tribe}: give the Exact code as text, not {code!r}")
            out[str(tribe)] = str(code).strip()
        return out


class DivisionPayments(BaseModel):
    """Where one division books a payment marked in Tribe first (``payments.<scope>``)."""

    model_config = ConfigDict(extra="forbid")

    journal: str  # the bank or cash journal's code ("20")
    type: Literal["bank", "cash"] = "bank"  # BankEntries or CashEntries

    @field_validator("journal", mode="before")
    @classmethod
    def _journal_as_text(cls, value: Any) -> Any:
        return journal_code(value, "the bank or cash journal's code (e.g. \"20\")")


class ExactSettings(CoreSettings):
    # Per division (scope name): the journal, VAT codes and GL accounts of its sales entries.
    invoices: dict[str, DivisionInvoices] = Field(default_factory=dict)
    # Per division: the bank or cash journal of payments marked in Tribe first.
    payments: dict[str, DivisionPayments] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _invoices_of_known_scopes(self) -> ExactSettings:
        for key, per_scope in (("invoices", self.invoices), ("payments", self.payments)):
            for scope in per_scope:
                if scope not in self.scopes:
                    raise ValueError(f"{key}.{scope}: {scope!r} is not one of the scopes (divisions: "
                                     f"{', '.join(sorted(self.scopes))})")
        return self

    @model_validator(mode="after")
    def _relation_types_exact_has(self) -> ExactSettings:
        statuses = ", ".join(f"{code} {name}" for code, name in EXACT_STATUSES.items())
        read_as: dict[str, str] = {}
        for kind, codes in self.relation_types.items():
            where = f"relation_types.{kind}"
            if kind == "Supplier":
                raise ValueError(f"{where}: Exact marks a supplier by the account's IsSupplier flag, not by a Status "
                                 "code; leave Supplier out of relation_types")
            if kind not in TRIBE_COMMERCIAL_TYPES:
                raise ValueError(f"{where}: {kind!r} is not a Tribe commercial relationship type "
                                 f"({', '.join(TRIBE_COMMERCIAL_TYPES)})")
            if not codes:
                raise ValueError(f"{where}: name the Exact account Status it stands for ({statuses})")
            for code in codes:
                if code not in EXACT_STATUSES:
                    raise ValueError(f"{where}: {code!r} is not an Exact account Status ({statuses})")
                if code in read_as:
                    raise ValueError(f"{where}: Status {code} is relation_types.{read_as[code]} already; an account "
                                     "has one Status, so it is imported as one Tribe type only")
                read_as[code] = kind
        return self

    @model_validator(mode="after")
    def _filters_of_known_streams(self) -> ExactSettings:
        if unknown := unknown_streams("exact", self.filters):
            raise ValueError(unknown)
        return self
