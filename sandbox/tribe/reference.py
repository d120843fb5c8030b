"""Tenant configuration every Tribe environment has: our own organisation, the API user,
invoice phases, units, VAT groups and countries. IDs are stable (uuid5) across runs."""
from __future__ import annotations

import uuid
from collections import Counter

from sandbox.tribe.store import EntityStore, WritePlan

__all__ = ["RelationshipRules", "bootstrap", "identity_org_id", "ref_id", "IDENTITY_NAME"]

IDENTITY_NAME = "Tribe Demo BV"
_NAMESPACE = uuid.UUID("5f0c6a8e-3c1b-4f7e-9a51-7d1e0b2c9a10")

COUNTRIES = [("NL", "Nederland"), ("NO", "Noorwegen"), ("BE", "België"), ("DE", "Duitsland"),
             ("SE", "Zweden"), ("DK", "Denemarken"), ("GB", "Verenigd Koninkrijk")]
UNITS = [("PCS", "Stuk"), ("HUR", "Uur"), ("DAY", "Dag"), ("KGM", "Kilogram")]
VAT_GROUPS = [("HIGH", "BTW hoog 21%", 21), ("LOW", "BTW laag 9%", 9), ("ZERO", "BTW 0%", 0),
              ("NO25", "MVA høy 25%", 25), ("NO15", "MVA middels 15%", 15)]
PHASES = [("Draft", 1), ("Sent", 2), ("Paid", 3)]
LEGAL_ENTITIES = [("NL", IDENTITY_NAME), ("BE", "Tribe Demo België BV")]  # [INFER] see model.py


def ref_id(kind: str, key: str) -> str:
    """Stable ID of a reference record, e.g. ``ref_id("Datastore_Unit", "PCS")``."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def identity_org_id(store: EntityStore) -> str | None:
    """ID of our own organisation (the parent ``Relation`` of customers and suppliers)."""
    identity = next(iter(store.rows("Relationship_Organization_Identity")), None)
    return identity.get("Relation") if identity else None


def bootstrap(store: EntityStore) -> Counter[str]:
    """Create the reference data that is missing; return counts of what was created."""
    created: Counter[str] = Counter()

    def ensure(entity_set: str, key: str, fields: dict) -> str:
        entity_id = ref_id(entity_set, key)
        if store.lookup(entity_id) is None:
            store.create(entity_set, {"ID": entity_id, **fields}, system=True)
            created[entity_set] += 1
        return entity_id

    countries = {code: ensure("Datastore_Country", code, {"Name": name, "Code": code}) for code, name in COUNTRIES}
    for code, name in UNITS:
        ensure("Datastore_Unit", code, {"Name": name, "Code": code})
    for code, name, pct in VAT_GROUPS:
        ensure("Datastore_VatGroup", code, {"Name": name, "Code": code, "Percentage": pct})
    for code, order in PHASES:
        ensure("Datastore_Phase_ActivityInvoice", code, {"Name": code, "Code": code, "SortIndex": order})
    for code, name in LEGAL_ENTITIES:
        ensure("Datastore_LegalEntity", code, {"Name": name, "Code": code})
    org = ensure("Relation_Organization", "identity", {
        "Name": IDENTITY_NAME, "EmailAddress": "info@tribedemo.nl", "FinancialEmailAddress": "finance@tribedemo.nl",
        "PhoneNumber": "+31 20 123 4567", "Website": "https://www.tribedemo.nl", "VatNumber": "NL001234567B01",
        "ChamberOfCommerceNumber": "12345678", "IsActive": True})
    address = ensure("Address", "identity", {
        "Street": "Keizersgracht", "HouseNumber": 123, "Postalcode": "1015 CJ", "City": "Amsterdam",
        "Country": {"ID": countries["NL"]}, "Organization": {"ID": org}})
    if (store.lookup(org) or {}).get("VisitingAddress") is None:
        link = {"ID": address}
        store.update("Relation_Organization", org, {"VisitingAddress": link, "PostalAddress": link,
                                                    "InvoiceAddress": link})
    ensure("Relationship_Organization_Identity", "identity", {"Relation": {"ID": org}, "Organization": {"ID": org}})
    # Under client credentials Tribe acts as a "virtual user": GetCurrentEmployee() returns it.
    person = ensure("Relation_Person", "api-user", {"FirstName": "API", "LastName": "Koppeling",
                                                    "EmailAddress": "api@tribedemo.nl"})
    ensure("Relationship_Person_Contact_Employee", "api-user", {
        "Relation": {"ID": org}, "Person": {"ID": person}, "EmailAddress": "api@tribedemo.nl"})
    return created


def api_employee_id() -> str:
    """ID of the employee GetCurrentEmployee() returns."""
    return ref_id("Relationship_Person_Contact_Employee", "api-user")


class RelationshipRules:
    """A relationship created without a parent ``Relation`` belongs to our own organisation."""

    def prepare(self, store: EntityStore, plan: WritePlan) -> None:
        if plan.existing is None and plan.set_def.type.startswith("Relationship.") and plan.get("Relation") is None:
            plan.links["Relation"] = identity_org_id(store)

    def after(self, store: EntityStore, plan: WritePlan, record: dict) -> None:
        return None

    def before_delete(self, store: EntityStore, record: dict) -> list[str]:
        return []

    def after_delete(self, store: EntityStore, record: dict) -> None:
        return None
