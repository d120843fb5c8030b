"""Tribe's entity model as data: entity sets, their fields, navigations and type hierarchy.

Set names use underscores (``Relation_Organization``) and ``_Type`` values use dots
(``Relation.Organization``). A set contains every record whose ``_Type`` equals its type or
starts with ``<type>.``; abstract (base) sets such as ``Relation`` can be read but not created on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ENTITY_SETS",
    "STANDARD_FIELDS",
    "EntitySet",
    "Nav",
    "concrete_members",
    "entity_set",
    "set_for_type",
]

# Field kinds: string, number, bool, datetime (ISO with Z), date (YYYY-MM-DD), guid.
STANDARD_FIELDS: dict[str, str] = {
    "ID": "guid",
    "_Type": "string",
    "_Name": "string",
    "CreationDate": "datetime",
    "LastMutationDate": "datetime",
    "ImportId": "string",
}
# Written by the server only; clients may send them back (round-trips) but values are ignored.
SYSTEM_FIELDS = frozenset({"ID", "_Type", "_Name", "CreationDate", "LastMutationDate"})


@dataclass(frozen=True)
class Nav:
    """A navigation property.

    Attributes:
        target: Entity set the navigation points into (may be abstract, e.g. ``Relation``).
        many: True for a collection navigation (``ProductLines``).
        via: For collections, the single navigation on the target that points back here.
        inverse: For single navigations, the navigation on a deep-inserted child that should
            point back to the parent (an ``InvoiceAddress`` created inline belongs to the org).
    """

    target: str
    many: bool = False
    via: str | None = None
    inverse: str | None = None


@dataclass
class EntitySet:
    """One entity set. ``fields``/``navs`` exclude the standard fields."""

    name: str
    type: str
    fields: dict[str, str] = field(default_factory=dict)
    navs: dict[str, Nav] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    computed: frozenset[str] = frozenset()
    abstract: bool = False
    deletable: bool = True

    def kind(self, prop: str) -> str | None:
        """Return the kind of a scalar property (standard ones included), or None."""
        return STANDARD_FIELDS.get(prop) or self.fields.get(prop)

    def all_fields(self) -> list[str]:
        return [*STANDARD_FIELDS, *self.fields]


_RELATION_COMMON = {
    "PhoneNumber": "string", "EmailAddress": "string", "Website": "string",
    "DebtorNumber": "string", "CreditorNumber": "string", "Number": "string",
    "IBAN": "string", "BIC": "string", "BankName": "string", "LinkedIn": "string",
    "IsActive": "bool",
}
_RELATIONSHIP_COMMON = {"Name": "string", "IsFormer": "bool", "UpgradeDate": "datetime"}
_CONTACT_FIELDS = {"EmailAddress": "string", "PhoneNumber": "string", "MobilePhoneNumber": "string",
                   "Department": "string"}
_LINE_TOTALS = {"TotalExcludingVat": "number", "TotalIncludingVat": "number", "VatAmount": "number"}


def _relationship(name: str, child: str, fields: dict[str, str] | None = None,
                  navs: dict[str, Nav] | None = None, **kw: object) -> EntitySet:
    """Relationships link a parent ``Relation`` (usually us) to a child Organization/Person."""
    child_set = "Relation_Organization" if child == "Organization" else "Relation_Person"
    return EntitySet(
        name=name, type=name.replace("_", "."),
        fields={**_RELATIONSHIP_COMMON, **(fields or {})},
        navs={"Relation": Nav("Relation"), child: Nav(child_set), **(navs or {})},
        required=(child,), computed=frozenset({"Name"}), **kw,  # type: ignore[arg-type]
    )


_CONCRETE: list[EntitySet] = [
    EntitySet(
        "Relation_Organization", "Relation.Organization",
        fields={"Name": "string", **_RELATION_COMMON, "FinancialEmailAddress": "string",
                "VatNumber": "string", "ChamberOfCommerceNumber": "string",
                "ChamberOfCommerceName": "string", "NumberOfEmployees": "number",
                "FoundingDate": "date"},
        navs={"VisitingAddress": Nav("Address", inverse="Organization"),
              "PostalAddress": Nav("Address", inverse="Organization"),
              "InvoiceAddress": Nav("Address", inverse="Organization")},
        required=("Name",),
    ),
    EntitySet(
        "Relation_Person", "Relation.Person",
        fields={"FirstName": "string", "MiddleName": "string", "LastName": "string",
                "Initials": "string", "Title": "string", "Suffix": "string", "Name": "string",
                "SortName": "string", "BirthDate": "date", "MobilePhoneNumber": "string",
                **_RELATION_COMMON},
        navs={"Address": Nav("Address", inverse="Person")},
        required=("LastName",), computed=frozenset({"Name", "SortName"}),
    ),
    _relationship("Relationship_Organization_CommercialRelationship_Customer", "Organization",
                  {"PaymentTermInDays": "number"},
                  {"AccountManager": Nav("Relationship_Person_Contact_Employee")}),
    _relationship("Relationship_Organization_Supplier", "Organization", {"PaymentTermInDays": "number"}),
    _relationship("Relationship_Person_CommercialRelationship_Customer", "Person", {"PaymentTermInDays": "number"},
                  {"AccountManager": Nav("Relationship_Person_Contact_Employee")}),
    _relationship("Relationship_Organization_Identity", "Organization"),
    _relationship("Relationship_Person_Contact_Standard", "Person", dict(_CONTACT_FIELDS)),
    # Employees cannot be deleted through the API (Tribe docs).
    _relationship("Relationship_Person_Contact_Employee", "Person", dict(_CONTACT_FIELDS), deletable=False),
    EntitySet(
        "Address", "Address",
        fields={"Street": "string", "HouseNumber": "number", "HouseNumberSuffix": "string",
                "Extra": "string", "Postalcode": "string", "City": "string",
                "Latitude": "number", "Longitude": "number"},
        navs={"Country": Nav("Datastore_Country"), "Relation": Nav("Relation"),
              "Organization": Nav("Relation_Organization"), "Person": Nav("Relation_Person")},
    ),
    EntitySet(
        "Product", "Product",
        fields={"Name": "string", "Code": "string", "Description": "string", "SalesPrice": "number",
                "PurchasePrice": "number", "StockLevel": "number", "IsVatIncluded": "bool",
                "IsInactive": "bool"},
        navs={"ProductGroup": Nav("ProductGroup"), "Unit": Nav("Datastore_Unit"),
              "VatGroup": Nav("Datastore_VatGroup")},
        required=("Name",),
    ),
    EntitySet("ProductGroup", "ProductGroup", fields={"Name": "string", "Code": "string"}),
    EntitySet("Datastore_Unit", "Datastore.Unit", fields={"Name": "string", "Code": "string"}),
    EntitySet("Datastore_VatGroup", "Datastore.VatGroup",
              fields={"Name": "string", "Code": "string", "Percentage": "number"}),
    EntitySet("Datastore_Country", "Datastore.Country", fields={"Name": "string", "Code": "string"}),
    EntitySet("Datastore_Phase_ActivityInvoice", "Datastore.Phase.ActivityInvoice",
              fields={"Name": "string", "Code": "string", "SortIndex": "number"}),
    # [INFER] Tribe's help articles let a user pick the legal entity of an invoice ("Invoice
    # details"); no API name is published. Modelled as a datastore of the tenant's entities.
    EntitySet("Datastore_LegalEntity", "Datastore.LegalEntity", fields={"Name": "string", "Code": "string"}),
    EntitySet(
        "Activity_Invoice", "Activity.Invoice",
        fields={"Subject": "string", "Number": "number", "InvoiceDate": "date", "DueDate": "date",
                "PaymentTermInDays": "number", "Amount": "number", "Currency": "string",
                "IsVatIncluded": "bool", **_LINE_TOTALS},
        navs={"Relationship": Nav("Relationship"), "Contact": Nav("Relationship_Person_Contact"),
              "Phase": Nav("Datastore_Phase_ActivityInvoice"), "LegalEntity": Nav("Datastore_LegalEntity"),
              "SalesRepresentative": Nav("Relationship_Person_Contact_Employee"),
              "ProductLines": Nav("ProductLine", many=True, via="Activity"),
              "Attachments": Nav("Attachment", many=True, via="Activity")},
        computed=frozenset({"Amount", *_LINE_TOTALS}),
    ),
    # [INFER] Tribe documents an ``Attachment`` entity and an ``Attachments`` navigation on every
    # entity, not their fields: a file's name, type and size, and the activity it belongs to. The
    # file itself is the media resource ``Attachment(<id>)/$value`` (sandbox/tribe/documents.py).
    EntitySet(
        "Attachment", "Attachment",
        fields={"FileName": "string", "ContentType": "string", "FileSize": "number"},
        navs={"Activity": Nav("Activity")},
        required=("FileName",), computed=frozenset({"FileSize"}),
    ),
    EntitySet(
        "ProductLine", "ProductLine",
        fields={"Description": "string", "Quantity": "number", "Price": "number",
                "DiscountPercentage": "number", "VatPercentage": "number", **_LINE_TOTALS},
        navs={"Product": Nav("Product"), "Unit": Nav("Datastore_Unit"),
              "VatGroup": Nav("Datastore_VatGroup"), "Activity": Nav("Activity")},
        computed=frozenset(_LINE_TOTALS),
    ),
]

# Base sets: readable (they return every subtype), never created on.
_ABSTRACT = [
    ("Relation", "Relation"),
    ("Relationship", "Relationship"),
    ("Relationship_Organization_CommercialRelationship", "Relationship.Organization.CommercialRelationship"),
    ("Relationship_Person_Contact", "Relationship.Person.Contact"),
    ("Activity", "Activity"),
    ("Datastore", "Datastore"),
]


def _is_member(member_type: str, base_type: str) -> bool:
    return member_type == base_type or member_type.startswith(base_type + ".")


def _build() -> dict[str, EntitySet]:
    sets = {s.name: s for s in _CONCRETE}
    for name, type_ in _ABSTRACT:
        members = [s for s in _CONCRETE if _is_member(s.type, type_)]
        fields: dict[str, str] = {}
        navs: dict[str, Nav] = {}
        for member in members:  # a base set knows the union of its subtypes' properties
            fields.update(member.fields)
            navs.update(member.navs)
        sets[name] = EntitySet(name, type_, fields=fields, navs=navs, abstract=True)
    return sets


ENTITY_SETS: dict[str, EntitySet] = _build()
_BY_TYPE = {s.type: s for s in _CONCRETE}


def entity_set(name: str) -> EntitySet | None:
    """Look up an entity set by its name (``Relation_Organization``)."""
    return ENTITY_SETS.get(name)


def set_for_type(type_: str) -> EntitySet:
    """Return the concrete set whose records carry ``_Type == type_``."""
    return _BY_TYPE[type_]


def concrete_members(name: str) -> list[str]:
    """Concrete set names whose records belong to the set ``name`` (itself if concrete)."""
    base = ENTITY_SETS[name]
    return [s.name for s in _CONCRETE if _is_member(s.type, base.type)]


def display_name(set_def: EntitySet, record: dict) -> str | None:
    """Compute ``_Name`` the way Tribe shows a record in lists."""
    get = record.get
    if set_def.name == "Relation_Person":
        return " ".join(p for p in (get("FirstName"), get("MiddleName"), get("LastName")) if p) or None
    if set_def.name == "Address":
        number = get("HouseNumber")
        number_txt = f"{int(number) if isinstance(number, float) and number.is_integer() else number}" \
            if number is not None else ""
        street = " ".join(p for p in (get("Street"), number_txt + (get("HouseNumberSuffix") or "")) if p)
        city = " ".join(p for p in (get("Postalcode"), get("City")) if p)
        return ", ".join(p for p in (street, city) if p) or None
    if set_def.name == "Activity_Invoice":
        return get("Subject") or (str(get("Number")) if get("Number") is not None else None)
    if set_def.name == "ProductLine":
        return get("Description")
    if set_def.name == "Attachment":
        return get("FileName")
    return get("Name")
