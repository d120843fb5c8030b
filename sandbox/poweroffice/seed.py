"""Deterministic demo data: Norwegian companies and people, a few Dutch customers, suppliers
(some sharing the customer's contact id), contact persons, products and booked invoices.

Organisation numbers are valid per ``stdnum.no.orgnr`` (mod 11); names and addresses come from
Faker's Norwegian locale with a fixed seed, so the same ``rng_seed`` always gives the same data.
"""
from __future__ import annotations

import random
import re
import unicodedata
from datetime import timedelta
from typing import Any

from faker import Faker
from stdnum.no import orgnr

from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["seed", "valid_orgnr"]

_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_TITLES = ["Daglig leder", "Økonomisjef", "Innkjøpsansvarlig", "Regnskapsfører", "Salgssjef", "IT-ansvarlig"]
# (Name, ProductType, UnitOfMeasureCode, sales account, group code, base price)
_PRODUCTS = [
    ("Konsulenttime", "Service", "HUR", 3000, "TJENESTER", 1250), ("Prosjektledelse", "Service", "HUR", 3000, "TJENESTER", 1450),
    ("Support, time", "Service", "HUR", 3000, "TJENESTER", 950), ("Installasjon", "Service", "HUR", 3000, "TJENESTER", 1100),
    ("Opplæring, dag", "Service", "DAY", 3000, "TJENESTER", 9500), ("Serviceavtale", "Service", "MON", 3000, "ABONNEMENT", 2490),
    ("Hosting", "Service", "MON", 3000, "ABONNEMENT", 799), ("Programvarelisens", "Service", "ANN", 3000, "ABONNEMENT", 12000),
    ("Kontorstol", "Product", "EA", 3000, "VARER", 3490), ("Skrivebord, hev/senk", "Product", "EA", 3000, "VARER", 6990),
    ("Skjerm 27 tommer", "Product", "EA", 3000, "VARER", 3290), ("Tastatur", "Product", "EA", 3000, "VARER", 690),
    ("Dokkingstasjon", "Product", "EA", 3000, "VARER", 2190), ("Nettverkskabel", "Product", "MTR", 3000, "VARER", 19),
    ("Kopipapir A4", "Product", "BX", 3000, "VARER", 289), ("Kaffe, hele bønner", "Product", "KGM", 3030, "VARER", 329),
    ("Smørbrødfat", "Product", "EA", 3030, "VARER", 890), ("Hotellovernatting", "Service", "DAY", 3040, "TJENESTER", 1490),
    ("Persontransport", "Service", "EA", 3040, "TJENESTER", 450), ("Kurs, deltakeravgift", "Service", "EA", 3100, "TJENESTER", 4900),
    ("Eksportpakke", "Product", "SET", 3100, "EKSPORT", 15900), ("Frakt", "Service", "EA", 3000, "VARER", 149),
    ("Strøm", "Product", "KWH", 3000, "VARER", 2), ("Kjøregodtgjørelse", "Service", "KMT", 3000, "TJENESTER", 5),
]
_DUTCH_PREFIXES = ["van der", "de", "van", "van den", "ter"]


def valid_orgnr(rng: random.Random) -> str:
    """A random Norwegian organisation number that passes ``stdnum.no.orgnr.is_valid``.

    Eight digits (first 8 or 9, as issued), then the mod-11 check digit; draws again when
    the check digit would be 10.
    """
    while True:
        digits = [rng.choice((8, 9))] + [rng.randrange(10) for _ in range(7)]
        check = (11 - sum(w * d for w, d in zip(_WEIGHTS, digits, strict=True)) % 11) % 11
        if check == 10:
            continue
        number = "".join(map(str, digits)) + str(check)
        if orgnr.is_valid(number):
            return number


def _faker(locale: str, rng_seed: int) -> Faker:
    try:
        fake = Faker(locale)
    except AttributeError:  # older/newer Faker names Norwegian Bokmål "no_NO"
        fake = Faker("no_NO")
    fake.seed_instance(rng_seed)
    return fake


def _slug(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text) or "firma"


def _gtin(rng: random.Random) -> str:
    body = "70" + "".join(str(rng.randrange(10)) for _ in range(10))  # 70 = GS1 Norway
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _no_address(fake: Faker) -> dict[str, str]:
    return {"AddressLine1": fake.street_address(), "ZipCode": fake.postcode(), "City": fake.city(), "CountryCode": "NO"}


def _company(fake: Faker, rng: random.Random, used: set[str]) -> dict[str, Any]:
    name = fake.company()
    number = valid_orgnr(rng)
    while number in used:
        number = valid_orgnr(rng)
    used.add(number)
    slug = _slug(name)
    return {"Name": name, "LegalName": name, "OrganizationNumber": number, "EmailAddress": f"post@{slug}.no",
            "PhoneNumber": fake.phone_number(), "WebsiteUrl": f"https://www.{slug}.no", "MailAddress": _no_address(fake)}


def seed(state: PowerOfficeState, *, customers: int = 300, suppliers: int = 60, persons: int = 40,
         products: int = 40, invoices: int = 20, rng_seed: int = 2) -> dict[str, Any]:
    """Fill ``state`` with deterministic demo data; ``state.reset()`` will re-apply it.

    Returns:
        Ids of what was created, by kind (plus notable subsets such as shared contact ids).
    """
    rng = random.Random(rng_seed)
    fake, dutch = _faker("nb_NO", rng_seed), _faker("nl_NL", rng_seed)
    out: dict[str, Any] = {k: [] for k in ("customers", "suppliers", "shared_contact_ids", "person_customers",
                                           "dutch_customers", "archived_customers", "contact_persons",
                                           "products", "archived_products", "invoices")}
    with state.lock:
        state._seed_args = {"customers": customers, "suppliers": suppliers, "persons": persons,
                            "products": products, "invoices": invoices, "rng_seed": rng_seed}
        terms = [t["Id"] for t in state.table("payment_terms").values() if t["CreditDays"] in (14, 30)]
        used: set[str] = set()
        n_dutch, n_people = max(1, customers // 25), max(1, customers // 12)
        for i in range(customers):
            fields: dict[str, Any] = {"PaymentTermId": rng.choice(terms), "ExternalNumber": 500000 + i,
                                      "CustomerSince": fake.date_between("-8y", "-30d")}
            if i < n_dutch:
                first, prefix = dutch.first_name(), rng.choice(_DUTCH_PREFIXES)
                last = f"{prefix} {dutch.last_name().split(' ')[-1]}"
                fields |= {"IsPerson": True, "FirstName": first, "LastName": last, "Name": f"{first} {last}",
                           "CurrencyCode": "EUR", "ContactGroupIds": [3], "PhoneNumber": dutch.phone_number(),
                           "EmailAddress": f"{_slug(first)}.{_slug(last)}@example.nl",
                           "MailAddress": {"AddressLine1": dutch.street_address(), "ZipCode": dutch.postcode(),
                                           "City": dutch.city(), "CountryCode": "NL"}}
            elif i < n_dutch + n_people:
                first, last = fake.first_name(), fake.last_name()
                fields |= {"IsPerson": True, "FirstName": first, "LastName": last, "Name": f"{first} {last}",
                           "EmailAddress": f"{_slug(first)}.{_slug(last)}@example.no", "PhoneNumber": fake.phone_number(),
                           "DateOfBirth": fake.date_of_birth(minimum_age=20, maximum_age=80),
                           "MailAddress": _no_address(fake), "InvoiceDeliveryType": "PdfByEmail"}
            else:
                fields |= _company(fake, rng, used)
                fields["InvoiceDeliveryType"] = rng.choice(["PdfByEmail", "PdfByEmail", "EHF", "Print"])
                if rng.random() < 0.3:
                    fields["InvoiceEmailAddress"] = "faktura@" + fields["EmailAddress"].split("@")[1]
                if rng.random() < 0.2:
                    fields["ContactGroupIds"] = [rng.choice([1, 2])]
            fields["IsArchived"] = rng.random() < 0.05
            rec = state.insert_customer(**fields)
            out["customers"].append(rec["Id"])
            if rec["IsPerson"]:
                out["dutch_customers" if i < n_dutch else "person_customers"].append(rec["Id"])
            if rec["IsArchived"]:
                out["archived_customers"].append(rec["Id"])
        companies = [c for c in state.table("customers").values() if not c["IsPerson"] and not c["IsArchived"]]
        for i in range(suppliers):
            if i < min(5, len(companies)):  # the same contact is both customer and supplier
                twin = companies[i]
                fields = {k: twin[k] for k in ("Name", "LegalName", "OrganizationNumber", "EmailAddress",
                                               "PhoneNumber", "WebsiteUrl")}
                fields |= {"Id": twin["Id"], "MailAddress": {k: twin["MailAddress"][k] for k in
                                                             ("AddressLine1", "ZipCode", "City", "CountryCode")}}
                out["shared_contact_ids"].append(twin["Id"])
            else:
                fields = _company(fake, rng, used) | {"IsArchived": rng.random() < 0.05}
            out["suppliers"].append(state.insert_supplier(**fields)["Id"])
        owners = [c for c in companies[:max(1, persons)]] + list(state.table("suppliers").values())[:3]
        for i in range(persons):
            owner = owners[i % len(owners)] if owners else None
            if owner is None:
                break
            first, last = fake.first_name(), fake.last_name()
            domain = (owner.get("EmailAddress") or "x@example.no").split("@")[1]
            rec = state.insert_contact_person(owner["Id"], FirstName=first, LastName=last, Title=rng.choice(_TITLES),
                                              EmailAddress=f"{_slug(first)}.{_slug(last)}@{domain}",
                                              PhoneNumber=fake.phone_number(), IsDefault=i < len(owners),
                                              ExternalCode=f"CP-{1000 + i}" if rng.random() < 0.5 else None)
            out["contact_persons"].append(rec["Id"])
        groups = {g["Code"]: g["Id"] for g in state.table("product_groups").values()}
        for i in range(products):
            name, ptype, unit, account, group, price = _PRODUCTS[i % len(_PRODUCTS)]
            if i >= len(_PRODUCTS):
                name = f"{name} ({['premium', 'basis', 'pluss', 'ekstra'][(i // len(_PRODUCTS) - 1) % 4]})"
            fields = {"Code": f"P{1000 + i}", "Name": name, "ProductType": ptype, "UnitOfMeasureCode": unit,
                      "ProductGroupId": groups[group], "StandardSalesAccountId": state.account_by_no(account)["Id"],
                      "UnitPrice": float(round(price * rng.uniform(0.9, 1.2), 2)),
                      "UnitCost": float(round(price * 0.55, 2)) if rng.random() < 0.6 else None,
                      "IsArchived": rng.random() < 0.06, "Description": f"{name} – {fake.catch_phrase()}"}
            if ptype == "Product":
                fields |= {"Gtin": _gtin(rng), "IsStockItem": rng.random() < 0.5}
                if fields["IsStockItem"]:
                    fields["StockOnHand"] = float(rng.randrange(0, 500))
            rec = state.insert_product(**fields)
            out["products"].append(rec["Id"])
            if rec["IsArchived"]:
                out["archived_products"].append(rec["Id"])
        live = [p for p in state.table("products").values() if not p["IsArchived"]]
        buyers = [c for c in state.table("customers").values() if not c["IsArchived"]]
        today = state.today()
        for _ in range(invoices if live and buyers else 0):
            buyer = rng.choice(buyers)
            lines = [{"ProductId": p["Id"], "Quantity": float(rng.randint(1, 12))}
                     for p in rng.sample(live, k=min(len(live), rng.randint(1, 4)))]
            voucher_date = today - timedelta(days=rng.randint(1, 90))
            invoice = state.create_invoice(buyer["Id"], lines, voucher_date=voucher_date, SalesOrderDate=voucher_date)
            out["invoices"].append(invoice["Id"])
            roll = rng.random()
            if roll < 0.6:
                paid_on = min(today, voucher_date + timedelta(days=rng.randint(3, 30)))
                amount = invoice["Balance"] if roll < 0.4 else round(invoice["Balance"] / 2, 2)
                state.register_payment(invoice["Id"], amount, payment_date=paid_on)
        out["product_groups"] = list(groups.values())
        out["vat_codes"] = list(state.table("vat_codes"))
        out["accounts"] = list(state.table("accounts"))
        out["payment_terms"] = list(state.table("payment_terms"))
    return out
