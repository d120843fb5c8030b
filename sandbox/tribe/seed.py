"""Deterministic Dutch demo data for the Tribe simulator (Faker ``nl_NL`` with a fixed seed).

Same arguments, same data and IDs. History is spread over the past two years so incremental
syncs on ``LastMutationDate`` have something to page through.
"""
from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from datetime import timedelta

from faker import Faker
from stdnum.nl import btw

from sandbox.tribe.reference import bootstrap, ref_id
from sandbox.tribe.state import TribeState
from sandbox.tribe.store import iso

__all__ = ["seed", "split_dutch_surname"]

TUSSENVOEGSELS = ("van der", "van den", "van de", "in 't", "op de", "van", "de", "der", "den", "ter",
                  "ten", "te", "'t")
_GROUPS = [("HW", "Hardware"), ("SRV", "Diensten"), ("LIC", "Licenties"), ("CONS", "Verbruiksartikelen")]
_PRODUCTS = ["Laptop", "Monitor 27 inch", "Docking station", "Toetsenbord", "Headset", "Installatie",
             "Consultancy", "Training", "Support contract", "Licentie CRM", "Licentie Office", "Printerpapier",
             "Toner zwart", "Kabelset", "Router", "Switch 24 poorts", "Projectmanagement", "Beveiligingsaudit",
             "Back-up opslag", "Webhosting", "Domeinnaam", "Koffiebonen", "Onderhoud", "Werkplek inrichting"]


def split_dutch_surname(full: str) -> tuple[str | None, str]:
    """Split "van der Ploeg" into ("van der", "Ploeg"); names without a prefix give (None, name)."""
    for prefix in TUSSENVOEGSELS:
        if full.lower().startswith(prefix + " "):
            return prefix, full[len(prefix) + 1:]
    return None, full


def seed(state: TribeState, *, organisations: int = 200, persons: int = 50, products: int = 30,
         rng_seed: int = 1) -> dict[str, int]:
    """Fill a tenant with realistic Dutch relations, products and draft invoices.

    Args:
        state: The tenant to fill (reference data is created too if missing).
        organisations: Organisations to create (customers, suppliers, some both, some neither).
        persons: Persons to create; about 40% become contacts at an organisation.
        products: Products to create.
        rng_seed: Seed for Faker and the IDs.

    Returns:
        Records created per entity set.
    """
    state.seed_args = {"organisations": organisations, "persons": persons, "products": products,
                       "rng_seed": rng_seed}
    return dict(_Seeder(state, rng_seed).run(organisations, persons, products))


class _Seeder:
    def __init__(self, state: TribeState, rng_seed: int) -> None:
        self.state = state
        self.rng = random.Random(rng_seed)
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(rng_seed)
        self.created: Counter[str] = Counter()
        self.now = state.clock.now()

    def run(self, organisations: int, persons: int, products: int) -> Counter[str]:
        self.created.update(bootstrap(self.state.store))
        orgs = [self.organisation(i) for i in range(organisations)]
        customers = self.relationships(orgs)
        people = [self.person() for _ in range(persons)]
        for person in people[: max(1, persons * 2 // 5)] if people and orgs else []:
            self.contact(person, self.rng.choice(orgs))
        items = self.products(products)
        for customer in customers[:2]:
            self.invoice(customer, items)
        return self.created

    # ---- helpers -----------------------------------------------------------------------
    def insert(self, entity_set: str, fields: dict, created_days_ago: float | None = None) -> dict:
        days = self.rng.uniform(1, 730) if created_days_ago is None else created_days_ago
        created = self.now - timedelta(days=days)
        mutated = created + timedelta(days=self.rng.uniform(0, days - 0.5)) if days > 1 else created
        record = self.state.insert(entity_set, {"ID": self.new_id(), "CreationDate": iso(created),
                                                "LastMutationDate": iso(mutated), **fields})
        self.created[entity_set] += 1
        return record

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def address(self, country: str = "NL") -> dict:
        street = self.fake.street_name()
        suffix = self.rng.choice([None] * 8 + ["A", "B", "bis", "-2", "hs"])
        postcode = self.fake.postcode() if country == "NL" else f"{self.rng.randint(1000, 9999)}"
        return self.insert("Address", {
            "Street": street, "HouseNumber": self.rng.randint(1, 250), "HouseNumberSuffix": suffix,
            "Postalcode": postcode, "City": self.fake.city(),
            "Latitude": round(self.rng.uniform(50.8, 53.4), 6), "Longitude": round(self.rng.uniform(3.4, 7.1), 6),
            "Country": {"ID": ref_id("Datastore_Country", country)}})

    def vat_number(self) -> str:
        while True:  # draw until the check digit is right (about 1 in 11)
            candidate = f"NL{self.rng.randint(0, 999_999_999):09d}B01"
            if btw.is_valid(candidate):
                return candidate

    # ---- relations ---------------------------------------------------------------------
    def organisation(self, index: int) -> dict:
        name = self.fake.company()
        name = name[0].upper() + name[1:]  # "van Vliet NV" is "Van Vliet NV" at the start
        slug = re.sub(r"[^a-z0-9]+", "", name.lower().replace("&", "en"))[:24] or f"org{index}"
        country = self.rng.choices(["NL", "BE", "DE", "NO"], weights=[85, 6, 5, 4])[0]
        visiting = self.address(country)
        links = {"VisitingAddress": {"ID": visiting["ID"]}, "PostalAddress": {"ID": visiting["ID"]}}
        invoice_address = visiting
        if self.rng.random() < 0.25:  # some send invoices to a separate (postbus) address
            invoice_address = self.address(country)
        links["InvoiceAddress"] = {"ID": invoice_address["ID"]}
        org = self.insert("Relation_Organization", {
            "Name": name, "PhoneNumber": self.fake.phone_number(), "EmailAddress": f"info@{slug}.nl",
            "FinancialEmailAddress": f"facturen@{slug}.nl" if self.rng.random() < 0.6 else None,
            "Website": f"https://www.{slug}.nl" if self.rng.random() < 0.9 else None,
            "VatNumber": self.vat_number() if country == "NL" and self.rng.random() < 0.85 else None,
            "ChamberOfCommerceNumber": f"{self.rng.randint(10_000_000, 99_999_999)}" if country == "NL" else None,
            "IBAN": self.fake.iban() if self.rng.random() < 0.5 else None,
            "IsActive": self.rng.random() > 0.05, **links})
        for address in {visiting["ID"], invoice_address["ID"]}:  # addresses know their owner
            self.state.update("Address", address, {"Organization": {"ID": org["ID"]},
                                                   "LastMutationDate": org["LastMutationDate"]})
        return org

    def relationships(self, orgs: list[dict]) -> list[dict]:
        customers = []
        debtor, creditor = 10000, 20000
        for org in orgs:
            roll = self.rng.random()
            is_customer, is_supplier = roll < 0.8, 0.65 < roll < 0.95
            numbers = {}
            if is_customer and self.rng.random() < 0.7:
                debtor += 1
                numbers["DebtorNumber"] = str(debtor)
            if is_supplier and self.rng.random() < 0.7:
                creditor += 1
                numbers["CreditorNumber"] = str(creditor)
            if numbers:
                self.state.update("Relation_Organization", org["ID"], {**numbers, "LastMutationDate": org["LastMutationDate"]})
            link = {"Organization": {"ID": org["ID"]}, "Relation": {"ID": self.state.identity_org_id}}
            if is_customer:
                customers.append(self.insert("Relationship_Organization_CommercialRelationship_Customer", {
                    **link, "PaymentTermInDays": self.rng.choice([14, 30, 30, 30, 60])}))
            if is_supplier:
                self.insert("Relationship_Organization_Supplier", {**link, "PaymentTermInDays": 30})
        return customers

    def person(self) -> dict:
        female = self.rng.random() < 0.5
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        middle, last = split_dutch_surname(self.fake.last_name())
        email_name = re.sub(r"[^a-z.]+", "", f"{first}.{(middle or '').replace(' ', '')}{last}".lower())
        address = self.address()
        person = self.insert("Relation_Person", {
            "FirstName": first, "MiddleName": middle, "LastName": last, "Initials": f"{first[0]}.",
            "Title": self.rng.choice([None] * 6 + ["dr.", "ir.", "mr.", "drs."]),
            "PhoneNumber": self.fake.phone_number() if self.rng.random() < 0.5 else None,
            "MobilePhoneNumber": f"06-{self.rng.randint(10_000_000, 99_999_999)}",
            "EmailAddress": f"{email_name}@{self.fake.free_email_domain()}",
            "IBAN": self.fake.iban() if self.rng.random() < 0.3 else None,
            "Address": {"ID": address["ID"]}})
        self.state.update("Address", address["ID"], {"Person": {"ID": person["ID"]},
                                                     "LastMutationDate": person["LastMutationDate"]})
        return person

    def contact(self, person: dict, org: dict) -> dict:
        domain = (org.get("EmailAddress") or "@example.nl").split("@")[1]
        local = re.sub(r"[^a-z]+", "", person["FirstName"].lower())
        return self.insert("Relationship_Person_Contact_Standard", {
            "Relation": {"ID": org["ID"]}, "Person": {"ID": person["ID"]},
            "EmailAddress": f"{local}@{domain}", "PhoneNumber": org.get("PhoneNumber"),
            "MobilePhoneNumber": person.get("MobilePhoneNumber"),
            "Department": self.rng.choice(["Inkoop", "Financiën", "Directie", "ICT", "Verkoop"])})

    # ---- products & invoices -----------------------------------------------------------
    def products(self, count: int) -> list[dict]:
        groups = {code: self.insert("ProductGroup", {"Name": name, "Code": code}) for code, name in _GROUPS}
        items = []
        for i in range(count):
            base = _PRODUCTS[i % len(_PRODUCTS)]
            name = base if i < len(_PRODUCTS) else f"{base} {i // len(_PRODUCTS) + 1}"
            service = base in ("Installatie", "Consultancy", "Training", "Projectmanagement",
                               "Beveiligingsaudit", "Onderhoud", "Werkplek inrichting")
            price = round(self.rng.uniform(85, 140) if service else self.rng.uniform(2, 1500), 2)
            items.append(self.insert("Product", {
                "Name": name, "Code": f"P-{i + 1:04d}", "Description": f"{name} ({'dienst' if service else 'artikel'})",
                "SalesPrice": price, "PurchasePrice": round(price * self.rng.uniform(0.5, 0.8), 2),
                "StockLevel": None if service else self.rng.randint(0, 400), "IsVatIncluded": False,
                "IsInactive": self.rng.random() < 0.1,
                "ProductGroup": {"ID": groups["SRV" if service else self.rng.choice(["HW", "LIC", "CONS"])]["ID"]},
                "Unit": {"ID": ref_id("Datastore_Unit", "HUR" if service else "PCS")},
                "VatGroup": {"ID": ref_id("Datastore_VatGroup", "LOW" if base == "Koffiebonen" else "HIGH")}}))
        return items

    def invoice(self, customer: dict, items: list[dict]) -> dict:
        lines = [{"Product": {"ID": p["ID"]}, "Quantity": self.rng.randint(1, 10)}
                 for p in self.rng.sample(items, k=min(len(items), self.rng.randint(2, 3)))]
        invoice = self.insert("Activity_Invoice", {
            "Subject": f"Factuur {customer.get('Name')}", "Relationship": {"ID": customer["ID"]},
            "PaymentTermInDays": customer.get("PaymentTermInDays"), "ProductLines": lines}, created_days_ago=1)
        self.created["ProductLine"] += len(lines)
        return invoice
