"""The bad-input corpus: kinds of bad records, each with the quarantine field and reason it must get.

Three tables, one per direction — ``IMPORT`` (PowerOffice → Tribe streams), ``EXPORT`` (Tribe →
PowerOffice streams) and ``INVOICES`` (Tribe invoice → PowerOffice sales order). A row plants
its bad record(s) through a *side* (``PowerOfficeSide``, ``TribeSide``, ``InvoiceSide``) whose
defaults are good, so each row names only what is wrong, and returns the id(s) under which the
record(s) must be quarantined. ``good_*`` plant the records that must land around them.

A dependency that has not synced yet (a contact's organisation, a product's group) is made by
stamping the dependency *after* the run's window: it is not read this run, so the dependant is
quarantined and nothing else is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.fixtures.records import ref, sent_invoice

__all__ = ["EXPORT", "EXPORT_MAP_ADDITIONS", "IMPORT", "IMPORT_MAP_ADDITIONS", "INVOICES", "OSLO", "Bad",
           "InvoiceSide", "PowerOfficeSide", "TribeSide", "good_export", "good_import", "good_invoices"]

OSLO = {"AddressLine1": "Storgata 12B", "ZipCode": "0155", "City": "Oslo", "CountryCode": "NO"}


@dataclass(frozen=True)
class Bad:
    kind: str  # what is wrong, unique across the corpus
    stream: str  # the stream that must quarantine it
    field: str | None  # the quarantine row's field (None: the target system refused the whole record)
    reason: str  # a fragment of the quarantine row's reason
    plant: Callable[[Any], str | tuple[str, ...]]  # → the record id(s) that must be quarantined

    def ids(self, side: Any) -> tuple[str, ...]:
        planted = self.plant(side)
        return planted if isinstance(planted, tuple) else (planted,)


class _Side:
    """Makes records as a user would, good unless a row says otherwise; ``good`` lists the
    (stream, id) of those that must land."""

    def __init__(self) -> None:
        self.count = 0
        self.good: list[tuple[str, str]] = []

    def _next(self) -> int:
        self.count += 1
        return self.count

    def keep(self, stream: str, record_id: str) -> str:
        self.good.append((stream, record_id))
        return record_id


class PowerOfficeSide(_Side):
    def __init__(self, po: Any) -> None:
        super().__init__()
        self.po = po

    def later(self) -> Any:
        """A change stamp after this run's window: the record is not read before the next run."""
        return self.po.now() + timedelta(hours=2)

    def customer(self, **fields: Any) -> str:
        n = self._next()
        return str(self.po.insert_customer(**{"Name": f"Kunde {n} AS", "EmailAddress": f"post{n}@kunde.no",
                                              "PhoneNumber": "22 33 44 55", "MailAddress": OSLO, **fields})["Id"])

    def supplier(self, **fields: Any) -> str:
        n = self._next()
        return str(self.po.insert_supplier(**{"Name": f"Leverandør {n} AS", "MailAddress": OSLO, **fields})["Id"])

    def contact(self, organisation: str, **fields: Any) -> str:
        n = self._next()
        made = self.po.insert_contact_person(int(organisation), **{"FirstName": "Kari", "LastName": f"Nordmann{n}",
                                                                   "EmailAddress": f"kari{n}@kunde.no", **fields})
        return f"{organisation}/{made['Id']}"

    def person(self, **fields: Any) -> str:
        n = self._next()
        return str(self.po.insert_customer(**{"IsPerson": True, "FirstName": "Ola", "LastName": f"Hansen{n}",
                                              "EmailAddress": f"ola{n}@privat.no", **fields})["Id"])

    def group(self, **fields: Any) -> str:
        n = self._next()
        return str(self.po.insert_product_group(**{"Name": f"Gruppe {n}", "Code": f"GRP-{n}", **fields})["Id"])

    def product(self, **fields: Any) -> str:
        n = self._next()
        return str(self.po.insert_product(**{"Name": f"Vare {n}", "Code": f"VARE-{n}", "UnitPrice": 100.0,
                                             "UnitOfMeasureCode": "EA", **fields})["Id"])

    def account(self, number: int) -> int:
        return self.po.account_by_no(number)["Id"]


def good_import(po: PowerOfficeSide, part: int) -> None:
    """Good PowerOffice records, planted in two parts: before and after the bad ones."""
    if part == 0:
        for group in po.po.all("product_groups"):  # PowerOffice's own groups: they land too
            po.keep("product_groups", str(group["Id"]))
        first = po.keep("customers", po.customer(OrganizationNumber="923609016"))
        po.keep("contacts", po.contact(first, FirstName="Jan", LastName="van der Berg"))
        po.keep("persons", po.person(FirstName="Anne", LastName="de Vries"))
        group = po.keep("product_groups", po.group(Name="Konsulenttjenester", Code="KONS"))
        po.keep("products", po.product(Name="Rådgivning", UnitOfMeasureCode="HUR", ProductGroupId=int(group),
                                       StandardSalesAccountId=po.account(3000)))
        return
    po.keep("customers", po.customer(MailAddress={**OSLO, "CountryCode": "NL", "City": "Amsterdam",
                                                  "ZipCode": "1015 CJ"}, OrganizationNumber="NL004495445B01"))
    po.keep("customers", po.customer(Name="Tønsberg Trävaror AS", WebsiteUrl="tonsberg.no"))
    supplier = po.keep("suppliers", po.supplier(OrganizationNumber="914778271"))
    po.keep("suppliers", po.supplier())
    po.keep("contacts", po.contact(supplier))
    po.keep("persons", po.person())
    po.keep("products", po.product(UnitOfMeasureCode="DAY", StandardSalesAccountId=po.account(3030)))


def _dupes(make: Callable[..., str], **fields: Any) -> tuple[str, str]:
    return make(**fields), make(**fields)


# PowerOffice unit "BX" mapped to a Tribe unit "BOX" that Tribe does not have.
IMPORT_MAP_ADDITIONS = {"unit_map": {"BOX": "BX"}}

IMPORT = [
    Bad("customer without a name", "customers", "Name", "is required for Relation_Organization.Name",
        lambda po: po.customer(Name="")),
    Bad("customer name of spaces only", "customers", "Name", "is required for Relation_Organization.Name",
        lambda po: po.customer(Name="   ")),
    Bad("customer name longer than Tribe holds", "customers", "Name", "is 250 characters long; the target allows 200",
        lambda po: po.customer(Name="N" * 250)),
    Bad("undecodable bytes in a name (U+FFFD)", "customers", "Name", "unreadable characters",
        lambda po: po.customer(Name="Bj\ufffdrnstad AS")),
    Bad("control character in a name", "customers", "Name", "unreadable characters",
        lambda po: po.customer(Name="Nord\x1bvik AS")),
    Bad("double-encoded UTF-8 in a name (mojibake)", "customers", "Name", "looks double-encoded",
        lambda po: po.customer(Name="BjÃ¸rnstad AS")),
    Bad("organisation number failing mod-11", "customers", "OrganizationNumber",
        "'123456789' is not a valid Norwegian organisation number", lambda po: po.customer(OrganizationNumber="123456789")),
    Bad("organisation number too short", "customers", "OrganizationNumber",
        "'98765' is not a valid Norwegian organisation number", lambda po: po.customer(OrganizationNumber="98765")),
    Bad("invalid foreign VAT number", "customers", "OrganizationNumber",
        "not a valid VAT or organisation number for country NL",
        lambda po: po.customer(OrganizationNumber="NL12345", MailAddress={**OSLO, "CountryCode": "NL"})),
    Bad("country Tribe does not know", "customers", "MailAddress", "country code 'IS' is not in Tribe's country list",
        lambda po: po.customer(MailAddress={**OSLO, "CountryCode": "IS", "City": "Reykjavik"})),
    Bad("invalid e-mail address", "customers", "EmailAddress", "is not a valid e-mail address",
        lambda po: po.customer(EmailAddress="post(at)kunde.no")),
    Bad("phone number without digits", "customers", "PhoneNumber", "contains no digits",
        lambda po: po.customer(PhoneNumber="ring resepsjonen")),
    Bad("website that is not a web address", "customers", "WebsiteUrl", "is not a web address",
        lambda po: po.customer(WebsiteUrl="ikke en nettside")),
    Bad("two customers with one number", "customers", "DebtorNumber", "two source records share it",
        lambda po: _dupes(po.customer, Number=15555)),
    Bad("supplier website longer than Tribe holds", "suppliers", "WebsiteUrl", "the target allows 255",
        lambda po: po.supplier(WebsiteUrl="https://leverandor.no/" + "a" * 280)),
    Bad("two suppliers with one number", "suppliers", "CreditorNumber", "two source records share it",
        lambda po: _dupes(po.supplier, Number=25555)),
    Bad("contact of an organisation not in Tribe yet", "contacts", "ContactId", "has not been synced to Tribe yet",
        lambda po: po.contact(po.customer(LastChangedDateTimeOffset=po.later()))),
    Bad("contact person without any name", "contacts", "LastName", "has no name to split",
        lambda po: po.contact(po.keep("customers", po.customer()), FirstName=None, LastName=None)),
    Bad("contact first name longer than Tribe holds", "contacts", "LastName", "the target allows 100",
        lambda po: po.contact(po.keep("customers", po.customer()), FirstName="K" * 120)),
    Bad("individual customer without a name", "persons", "Name", "has no name to split",
        lambda po: po.person(FirstName=None, LastName=None)),
    Bad("individual customer last name longer than Tribe holds", "persons", "Name", "the target allows 150",
        lambda po: po.person(LastName="H" * 160)),
    Bad("product group without a name", "product_groups", "Name", "is required for ProductGroup.Name",
        lambda po: po.group(Name=None)),
    Bad("two product groups with one code", "product_groups", "Code", "two source records share it",
        lambda po: _dupes(po.group, Code="DOBBEL")),
    Bad("product group code longer than Tribe holds", "product_groups", "Code", "the target allows 100",
        lambda po: po.group(Code="G" * 150)),
    Bad("product unit missing from unit_map", "products", "UnitOfMeasureCode",
        "PowerOffice unit 'LTR' is not mapped; add it to 'unit_map'", lambda po: po.product(UnitOfMeasureCode="LTR")),
    Bad("unit_map naming a unit Tribe does not have", "products", "UnitOfMeasureCode",
        "Tribe unit 'BOX' has no match in units", lambda po: po.product(UnitOfMeasureCode="BX")),
    Bad("sales account whose VAT code is missing from vat_map", "products", "StandardSalesAccountId",
        "PowerOffice VAT code '33' is not mapped; add it to 'vat_map'",
        lambda po: po.product(StandardSalesAccountId=po.account(3040))),
    Bad("negative product price", "products", "UnitPrice", "-5.0 is below the allowed minimum 0",
        lambda po: po.product(UnitPrice=-5.0)),
    Bad("product whose group is not in Tribe yet", "products", "ProductGroupId", "has not been synced to Tribe yet",
        lambda po: po.product(ProductGroupId=int(po.group(LastChangedDateTimeOffset=po.later())))),
    Bad("product without a name", "products", "Name", "is required for Product.Name",
        lambda po: po.product(Name=None)),
    Bad("product description longer than Tribe holds", "products", "Description", "the target allows 4000",
        lambda po: po.product(Description="x" * 4100)),
]


def add_unmapped_configuration(tribe: Any) -> None:
    """A unit and VAT groups a user added in Tribe but not to the maps in the settings."""
    tribe.insert("Datastore_Unit", {"Code": "MTR", "Name": "Meter"})
    tribe.insert("Datastore_VatGroup", {"Code": "NO12", "Name": "MVA lav 12%", "Percentage": 12})
    tribe.insert("Datastore_VatGroup", {"Code": "EXPORT", "Name": "Eksport 0%", "Percentage": 0})


class TribeSide(_Side):
    def __init__(self, tribe: Any) -> None:
        super().__init__()
        self.tribe = tribe
        add_unmapped_configuration(tribe)

    def later(self) -> str:
        return (self.tribe.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def address(self, country: str = "NL", **fields: Any) -> dict[str, Any]:
        return {"Street": "Keizersgracht", "HouseNumber": 12, "Postalcode": "1015 CJ", "City": "Amsterdam",
                "Country": {"ID": ref(self.tribe, "Datastore_Country", country)}, **fields}

    def _organisation(self, role: str, **fields: Any) -> str:
        n = self._next()
        org = self.tribe.insert("Relation_Organization", {"Name": f"Organisatie {n} BV", "EmailAddress": f"info{n}@org.nl",
                                                          "InvoiceAddress": self.address(), **fields})
        self.tribe.insert(role, {"Organization": {"ID": org["ID"]}})
        return org["ID"]

    def customer(self, **fields: Any) -> str:
        return self._organisation("Relationship_Organization_CommercialRelationship_Customer", **fields)

    def supplier(self, **fields: Any) -> str:
        return self._organisation("Relationship_Organization_Supplier", **fields)

    def person(self, **fields: Any) -> str:
        n = self._next()
        person = self.tribe.insert("Relation_Person", {"FirstName": "Anna", "LastName": f"Jansen{n}",
                                                       "EmailAddress": f"anna{n}@privat.nl", **fields})
        self.tribe.insert("Relationship_Person_CommercialRelationship_Customer", {"Person": {"ID": person["ID"]}})
        return person["ID"]

    def contact(self, organisation: str, person: dict[str, Any] | None = None, **fields: Any) -> str:
        n = self._next()
        made = self.tribe.insert("Relation_Person", {"FirstName": "Piet", "LastName": f"Bakker{n}", **(person or {})})
        return self.tribe.insert("Relationship_Person_Contact_Standard", {
            "Relation": {"ID": organisation}, "Person": {"ID": made["ID"]}, "EmailAddress": f"piet{n}@org.nl",
            **fields})["ID"]

    def group(self, **fields: Any) -> str:
        n = self._next()
        return self.tribe.insert("ProductGroup", {"Name": f"Groep {n}", "Code": f"GRP-{n}", **fields})["ID"]

    def product(self, unit: str = "PCS", vat: str = "NO25", **fields: Any) -> str:
        n = self._next()
        return self.tribe.insert("Product", {
            "Name": f"Product {n}", "Code": f"PRD-{n}", "SalesPrice": 95.0,
            "Unit": {"ID": ref(self.tribe, "Datastore_Unit", unit)},
            "VatGroup": {"ID": ref(self.tribe, "Datastore_VatGroup", vat)}, **fields})["ID"]


def good_export(t: TribeSide, part: int) -> None:
    if part == 0:
        first = t.keep("tribe_customers", t.customer(VatNumber="NL004495445B01"))
        t.keep("tribe_contacts", t.contact(first, person={"MiddleName": "van der", "LastName": "Berg"}))
        t.keep("tribe_customers", t.customer(Name="Fjord Konsult AS", VatNumber="NO923609016MVA",
                                             InvoiceAddress=t.address("NO", Postalcode="0155", City="Oslo")))
        t.keep("tribe_persons", t.person(MiddleName="de", LastName="Vries"))
        group = t.keep("tribe_product_groups", t.group(Name="Advies", Code="ADV"))
        t.keep("tribe_products", t.product(unit="HUR", ProductGroup={"ID": group}))
        return
    t.keep("tribe_customers", t.customer())
    supplier = t.keep("tribe_suppliers", t.supplier(VatNumber="914778271",
                                                     InvoiceAddress=t.address("NO", Postalcode="3110", City="Tønsberg")))
    t.keep("tribe_suppliers", t.supplier())
    t.keep("tribe_contacts", t.contact(supplier))
    t.keep("tribe_persons", t.person())
    t.keep("tribe_product_groups", t.group())
    t.keep("tribe_products", t.product(vat="LOW", unit="DAY"))
    t.keep("tribe_products", t.product(vat="ZERO"))


# A Tribe VAT group mapped to a PowerOffice code (export of goods) that no sales account carries.
EXPORT_MAP_ADDITIONS = {"vat_map": {"EXPORT": "52"}}

EXPORT = [
    Bad("VAT number holding an invalid Norwegian organisation number", "tribe_customers", "VatNumber",
        "does not hold a valid Norwegian organisation number", lambda t: t.customer(VatNumber="NO123456789MVA")),
    Bad("bare organisation number failing mod-11 for a Norwegian organisation", "tribe_customers", "VatNumber",
        "does not hold a valid Norwegian organisation number",
        lambda t: t.customer(VatNumber="123456789", InvoiceAddress=t.address("NO", City="Oslo"))),
    Bad("organisation e-mail address with two @", "tribe_customers", "EmailAddress", "is not a valid e-mail address",
        lambda t: t.customer(EmailAddress="info@@org.nl")),
    Bad("phone number longer than PowerOffice holds", "tribe_customers", "PhoneNumber", "the target allows 40",
        lambda t: t.customer(PhoneNumber="+31 20 123 4567 / +31 6 1234 5678 (alleen ochtend)")),
    Bad("organisation name of spaces only", "tribe_customers", "Name", "is required for Customers.Name",
        lambda t: t.customer(Name="   ")),
    Bad("organisation name longer than the mapping allows (200)", "tribe_customers", "Name", "the target allows 200",
        lambda t: t.customer(Name="O" * 220)),
    Bad("two Tribe customers with one debtor number", "tribe_customers", "Number",
        "two source records share it", lambda t: _dupes(t.customer, DebtorNumber="13131")),
    # PowerOffice caps an address line at 200 (its OpenAPI file); Tribe's street is longer.
    Bad("invoice street longer than PowerOffice holds", "tribe_customers", "InvoiceAddress", "the target allows 200",
        lambda t: t.customer(InvoiceAddress=t.address(Street="Lang" * 60))),
    Bad("invoice address without a city (PowerOffice refuses it)", "tribe_customers", None,
        "MailAddress.City is required",
        lambda t: t.customer(InvoiceAddress=t.address(City=None, Postalcode=None))),
    Bad("double-encoded UTF-8 in a supplier name", "tribe_suppliers", "Name", "looks double-encoded",
        lambda t: t.supplier(Name="CafÃ© Amstel BV")),
    Bad("supplier website longer than PowerOffice holds", "tribe_suppliers", "Website", "the target allows 255",
        lambda t: t.supplier(Website="https://leverancier.nl/" + "a" * 280)),
    Bad("person whose last name is spaces only", "tribe_persons", "LastName", "is required for Customers.LastName",
        lambda t: t.person(LastName="  ")),
    Bad("person without a first name (PowerOffice needs one)", "tribe_persons", "FirstName",
        "is required for Customers.FirstName", lambda t: t.person(FirstName=None)),
    Bad("person first name longer than PowerOffice holds", "tribe_persons", "FirstName", "the target allows 100",
        lambda t: t.person(FirstName="A" * 120)),
    Bad("contact with an invalid e-mail address", "tribe_contacts", "EmailAddress", "is not a valid e-mail address",
        lambda t: t.contact(t.keep("tribe_customers", t.customer()), EmailAddress="piet at org.nl")),
    Bad("control character in a contact's first name", "tribe_contacts", "Person.FirstName", "unreadable characters",
        lambda t: t.contact(t.keep("tribe_customers", t.customer()), person={"FirstName": "Pi\x07et"})),
    Bad("contact whose person has no first name (PowerOffice needs one)", "tribe_contacts", "Person.FirstName",
        "is required for ContactPersons.FirstName",
        lambda t: t.contact(t.keep("tribe_customers", t.customer()), person={"FirstName": None})),
    Bad("product group without a code", "tribe_product_groups", "Code", "is required for ProductGroups.Code",
        lambda t: t.group(Code=None)),
    Bad("two Tribe product groups with one code", "tribe_product_groups", "Code",
        "two source records share it", lambda t: _dupes(t.group, Code="DUBBEL")),
    Bad("Tribe unit missing from unit_map", "tribe_products", "Unit.Code",
        "Tribe unit 'MTR' is not mapped; add it to 'unit_map'", lambda t: t.product(unit="MTR")),
    Bad("Tribe VAT group missing from vat_map", "tribe_products", "VatGroup.Code",
        "Tribe VAT group 'NO12' is not mapped; add it to 'vat_map'", lambda t: t.product(vat="NO12")),
    Bad("VAT group mapped to a code no sales account has", "tribe_products", "VatGroup.Code",
        "no sales account in PowerOffice has VAT code '52'", lambda t: t.product(vat="EXPORT")),
    Bad("negative sales price", "tribe_products", "SalesPrice", "-1.0 is below the allowed minimum 0",
        lambda t: t.product(SalesPrice=-1.0)),
    Bad("product without a code", "tribe_products", "Code", "is required for Products.Code",
        lambda t: t.product(Code=None)),
    Bad("product whose group is not in PowerOffice yet", "tribe_products", "ProductGroup.ID",
        "is not linked to the accounting system yet",
        lambda t: t.product(ProductGroup={"ID": t.group(LastMutationDate=t.later())})),
    Bad("two Tribe products with one code", "tribe_products", "Code", "two source records share it",
        lambda t: _dupes(t.product, Code="DUBBEL-1")),
]


class InvoiceSide(_Side):
    """Sent Tribe invoices for a linked customer; a line sells ``product`` (known in PowerOffice)."""

    def __init__(self, tribe: Any, relationship: str, product: str, unknown_product: str) -> None:
        super().__init__()
        self.tribe, self.relationship = tribe, relationship
        self.product, self.unknown_product = product, unknown_product
        add_unmapped_configuration(tribe)

    def line(self, unit: str = "PCS", vat: str = "NO25", **fields: Any) -> dict[str, Any]:
        return {"Product": {"ID": self.product}, "Quantity": 2, "Price": 250.0,
                "Unit": {"ID": ref(self.tribe, "Datastore_Unit", unit)},
                "VatGroup": {"ID": ref(self.tribe, "Datastore_VatGroup", vat)}, **fields}

    def invoice(self, lines: list[dict[str, Any]] | None = None, relationship: str | None = None,
                **fields: Any) -> str:
        return sent_invoice(self.tribe, relationship or self.relationship, [self.line()] if lines is None else lines,
                            **fields)["ID"]

    def unlinked_customer(self) -> str:
        org = self.tribe.insert("Relation_Organization", {"Name": "Nooit Gesynct BV"})
        return self.tribe.insert("Relationship_Organization_CommercialRelationship_Customer",
                                 {"Organization": {"ID": org["ID"]}})["ID"]


def good_invoices(i: InvoiceSide, part: int) -> None:
    if part == 0:
        i.keep("invoices", i.invoice())
        i.keep("invoices", i.invoice([i.line(unit="HUR", vat="NO15"), i.line(unit="DAY", vat="ZERO", Quantity=0.5)]))
        return
    i.keep("invoices", i.invoice([i.line(DiscountPercentage=10)], PaymentTermInDays=30))


INVOICES = [
    Bad("invoice for a customer not linked to PowerOffice", "invoices", "Relationship.ID",
        "the invoice's customer relationship", lambda i: i.invoice(relationship=i.unlinked_customer())),
    Bad("invoice line unit missing from unit_map", "invoices", "ProductLines[1].Unit.Code",
        "Tribe unit 'MTR' is not mapped; add it to 'unit_map'", lambda i: i.invoice([i.line(unit="MTR")])),
    Bad("invoice line VAT group missing from vat_map", "invoices", "ProductLines[1].VatGroup.Code",
        "Tribe VAT group 'NO12' is not mapped; add it to 'vat_map'", lambda i: i.invoice([i.line(vat="NO12")])),
    Bad("negative quantity", "invoices", "ProductLines[1].Quantity", "-3.0 is below the allowed minimum 0",
        lambda i: i.invoice([i.line(Quantity=-3.0)])),
    Bad("invoice without lines", "invoices", "ProductLines", "has no elements; at least one is required",
        lambda i: i.invoice([])),
    Bad("invoice line without a product", "invoices", "ProductLines[1].Product.Code",
        "is required for SalesOrders/Complete.ProductCode",
        lambda i: i.invoice([i.line(Product=None, Description="Diverse")])),
    Bad("payment term PowerOffice does not have", "invoices", "PaymentTermInDays",
        "payment term in days 45 has no match in payment_terms", lambda i: i.invoice(PaymentTermInDays=45)),
    Bad("negative discount", "invoices", "ProductLines[1].DiscountPercentage", "-10.0 is below the allowed minimum 0",
        lambda i: i.invoice([i.line(DiscountPercentage=-10.0)])),
    Bad("discount over 100 %", "invoices", "ProductLines[1].DiscountPercentage",
        "150.0 is above the allowed maximum 100", lambda i: i.invoice([i.line(DiscountPercentage=150.0)])),
    Bad("invoice subject longer than PowerOffice's reference holds", "invoices", "Subject", "the target allows 200",
        lambda i: i.invoice(Subject="Consultancy " * 20)),
    Bad("undecodable bytes in a line description", "invoices", "ProductLines[1].Description",
        "unreadable characters", lambda i: i.invoice([i.line(Description="Adviesuren \ufffd maart")])),
    Bad("double-encoded UTF-8 on the second line only", "invoices", "ProductLines[2].Description",
        "looks double-encoded", lambda i: i.invoice([i.line(), i.line(Description="RÃ¥dgivning")])),
    Bad("product PowerOffice does not know (PowerOffice refuses the order)", "invoices", None,
        "Product with code = 'ONBEKEND-1' not found",
        lambda i: i.invoice([i.line(Product={"ID": i.unknown_product})])),
    Bad("currency that is not an ISO 4217 code (PowerOffice refuses the order)", "invoices", None,
        "CurrencyCode 'EURO' is not a valid ISO 4217 code", lambda i: i.invoice(Currency="EURO")),
]
