"""Deterministic demo data: a Dutch and a Belgian division (plus a third the user may reach and a
fourth of the licence the user may not), with what the next Exact issues need.

Accounts carry name particles ("van der", "de", "'t"), house-number additions inside
``AddressLine1`` ("Kerkstraat 12 A", "Dorpsstraat 12-a", "Molenweg 7bis"), blocked and ended ones,
customers, suppliers and both; contacts hang under accounts; items include ended ones; units,
item groups, VAT codes, GL accounts and journals per division; booked sales entries leave
receivables (one paid). A group of accounts shares one sync ``Timestamp`` (a bulk edit), so a
sync page boundary can fall inside a tie (tests shrink ``options.bulk_page_size``).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from faker import Faker

from sandbox.exact.entities import SPECS
from sandbox.exact.rules import Ctx
from sandbox.exact.state import ExactState
from sandbox.exact.values import pad_code

__all__ = ["NL", "BE", "seed"]

NL, BE, NL_OLD, FOREIGN = 100001, 200001, 100002, 999001

_UNITS = [("stuk", "Stuk", "O", 1), ("uur", "Uur", "T", 0), ("doos", "Doos", "O", 0), ("kg", "Kilogram", "W", 0),
          ("m", "Meter", "L", 0)]
_VAT = {NL: [("0", "Geen BTW", 0.0, "N"), ("1", "BTW hoog 21%", 21.0, "E"), ("2", "BTW laag 9%", 9.0, "E"),
             ("5", "BTW verlegd", 0.0, "E")],
        BE: [("0", "Geen btw", 0.0, "N"), ("1", "Btw 6%", 6.0, "E"), ("3", "Btw 21%", 21.0, "E")]}
_GL = {NL: [("1300", "Debiteuren", "B", "D", 20), ("1600", "Crediteuren", "B", "C", 22), ("1500", "Te betalen BTW hoog",
                                                                                            "B", "C", 0),
            ("8000", "Omzet hoog", "W", "C", 110), ("8010", "Omzet laag", "W", "C", 110),
            ("8020", "Omzet verlegd", "W", "C", 110), ("7000", "Inkoopwaarde", "W", "D", 111)],
       BE: [("400000", "Handelsdebiteuren", "B", "D", 20), ("440000", "Leveranciers", "B", "C", 22),
            ("700000", "Verkopen handelsgoederen", "W", "C", 110), ("451000", "Te betalen btw", "B", "C", 0)]}
_JOURNALS = {NL: [("70", "Verkoopboek", 20), ("71", "Verkoopboek webshop", 20), ("60", "Inkoopboek", 22),
                  ("10", "Kas", 10), ("20", "Bank", 12), ("90", "Memoriaal", 90)],
             BE: [("700", "Verkoopdagboek", 20), ("600", "Aankoopdagboek", 22), ("550", "Bank", 12)]}
_GROUPS = [("1", "Algemeen", 1), ("2", "Diensten", 0), ("3", "Handelsgoederen", 0)]
# (name, AddressLine1, postcode, city, Status, IsSupplier, Blocked, ended, email)
_NL_ACCOUNTS = [
    ("Bakkerij van der Berg", "Kerkstraat 12 A", "1012 AB", "Amsterdam", "C", False, False, False, "info@vdberg.nl"),
    ("De Vries Installatietechniek B.V.", "Dorpsstraat 12-a", "3511 LX", "Utrecht", "C", True, False, False,
     "administratie@devries-installatie.nl"),
    ("Van den Heuvel & Zn.", "Molenweg 7bis", "5611 AZ", "Eindhoven", "C", False, False, False, "post@vdheuvel.nl"),
    ("'t Hooghe Huys Catering", "Markt 3", "4811 WR", "Breda", "C", False, True, False, "events@hooghehuys.nl"),
    ("Ter Horst Logistiek", "Industrieweg 140 B", "7544 GL", "Enschede", "", True, False, False,
     "planning@terhorst.nl"),
    ("Janssen Kantoorinrichting", "Stationsplein 1-3", "6221 BT", "Maastricht", "C", False, False, True,
     "verkoop@janssen-ki.nl"),
    ("Drukkerij De Boer", "Havenkade 22a", "9711 EH", "Groningen", "", True, True, False, "orders@drukkerijdeboer.nl"),
    ("Van Dijk Software", "Prinsengracht 263 hs", "1016 GV", "Amsterdam", "P", False, False, False, "hallo@vandijk.io"),
]
_NL_ITEMS = [("KOF-001", "Koffiebonen 1 kg", "kg", "2", 18.5, 9.1, False), ("THE-002", "Thee assortiment", "doos", "2",
                                                                             7.95, 3.2, False),
             ("STL-010", "Bureaustoel ergonomisch", "stuk", "1", 349.0, 190.0, False),
             ("BRD-011", "Bureau zit/sta", "stuk", "1", 599.0, 320.0, False),
             ("KBL-020", "Netwerkkabel Cat6", "m", "1", 1.25, 0.4, False),
             ("CON-100", "Consultancy", "uur", "1", 95.0, 0.0, False),
             ("INS-101", "Installatie op locatie", "uur", "1", 75.0, 0.0, False),
             ("OLD-900", "Printer (uit assortiment)", "stuk", "1", 129.0, 80.0, True),
             ("OLD-901", "Faxpapier", "doos", "1", 12.5, 5.0, True)]


def _ctx(state: ExactState, division: int) -> Ctx:
    return Ctx(state, division, f"{state.base_url}/api/v1/{division}", {}, state.client_id)


def _insert(state: ExactState, division: int, path: str, values: dict[str, Any]) -> dict[str, Any]:
    return state.store.insert(division, SPECS[path.lower()], values, state.user, notify=False)


def _reference(state: ExactState, division: int) -> dict[str, Any]:
    refs: dict[str, Any] = {"gl": {}, "groups": {}}
    for code, description, typ, main in _UNITS:
        _insert(state, division, "logistics/Units", {"Code": code, "Description": description, "Type": typ,
                                                     "Main": main, "Active": True, "TimeUnit": "hour" if typ == "T" else None})
    for code, description, balance_type, side, typ in _GL[division if division in _GL else NL]:
        row = _insert(state, division, "financial/GLAccounts", {"Code": code, "Description": description,
                                                                "BalanceType": balance_type, "BalanceSide": side,
                                                                "Type": typ, "IsBlocked": False})
        refs["gl"][code] = row["ID"]
    for code, description, pct, typ in _VAT[division if division in _VAT else NL]:
        _insert(state, division, "vat/VATCodes", {"Code": code.ljust(3), "Description": description, "Percentage": pct,
                                                  "Type": typ, "VATTransactionType": "B", "IsBlocked": False,
                                                  "Charged": False})
    for code, description, typ in _JOURNALS[division if division in _JOURNALS else NL]:
        _insert(state, division, "financial/Journals", {"Code": code, "Description": description, "Type": typ,
                                                        "Currency": "EUR", "AllowVAT": True, "IsBlocked": False})
    revenue = refs["gl"].get("8000") or refs["gl"].get("700000")
    for code, description, default in _GROUPS:
        row = _insert(state, division, "logistics/ItemGroups", {"Code": code, "Description": description,
                                                                "IsDefault": default, "GLRevenue": revenue})
        refs["groups"][code] = row["ID"]
    refs["revenue"] = revenue
    return refs


def _accounts(state: ExactState, division: int, fake: Faker, fixed: list[tuple], extra: int, country: str) -> list[dict]:
    rows, today = [], state.wall_now().replace(hour=0, minute=0, second=0, microsecond=0)
    people = [(fake.first_name(), p, fake.last_name()) for p in ("van der", "de", "van", "ter", "van den", "")]
    for n, (name, line1, postcode, city, status, supplier, blocked, ended, email) in enumerate(fixed, start=1):
        rows.append(_insert(state, division, "crm/Accounts", {
            "Code": pad_code(n), "Name": name, "AddressLine1": line1, "Postcode": postcode, "City": city,
            "Country": country.ljust(3), "Status": status, "IsSupplier": supplier, "Blocked": blocked,
            "EndDate": today - timedelta(days=40) if ended else None, "Email": email,
            "Phone": fake.phone_number(), "VATNumber": f"{country}{fake.numerify('#########')}B01",
            "ChamberOfCommerce": fake.numerify("########"), "StartDate": today - timedelta(days=900),
            "SearchCode": name.split()[0][:10].upper(), "Language": "NL", "SalesCurrency": "EUR"}))
    for n in range(len(fixed) + 1, len(fixed) + extra + 1):
        rows.append(_insert(state, division, "crm/Accounts", {
            "Code": pad_code(n), "Name": fake.company(), "AddressLine1": f"{fake.street_name()} {fake.building_number()}",
            "Postcode": fake.postcode(), "City": fake.city(), "Country": country.ljust(3),
            "Status": "C" if n % 4 else "", "IsSupplier": n % 5 == 0, "Blocked": False, "Email": fake.company_email(),
            "Phone": fake.phone_number(), "StartDate": today - timedelta(days=n * 7), "Language": "NL"}))
    for n, account in enumerate(rows):
        first, particle, last = people[n % len(people)]
        main = _insert(state, division, "crm/Contacts", {
            "Account": account["ID"], "FirstName": first, "MiddleName": particle or None, "LastName": last,
            "Email": f"{first.lower()}@{(account['Email'] or 'example.nl').split('@')[-1]}", "Phone": account["Phone"],
            "JobTitleDescription": ["Directeur", "Inkoper", "Boekhouder", "Office manager"][n % 4], "Language": "NL"})
        account["MainContact"] = main["ID"]
        if n % 3 == 0:
            _insert(state, division, "crm/Contacts", {"Account": account["ID"], "FirstName": fake.first_name(),
                                                      "LastName": fake.last_name(), "Email": fake.email()})
    return rows


def _items(state: ExactState, division: int, refs: dict[str, Any]) -> None:
    today = state.wall_now().replace(hour=0, minute=0, second=0, microsecond=0)
    for code, description, unit, group, price, cost, ended in _NL_ITEMS:
        _insert(state, division, "logistics/Items", {
            "Code": code, "Description": description, "Unit": unit, "ItemGroup": refs["groups"][group],
            "SalesVatCode": "1  " if division == NL else "3  ", "StandardSalesPrice": price, "CostPriceStandard": cost,
            "IsSalesItem": True, "IsPurchaseItem": cost > 0, "IsStockItem": unit != "uur", "IsWebshopItem": 0,
            "StartDate": today - timedelta(days=700), "EndDate": today - timedelta(days=10) if ended else None,
            "GLRevenue": refs["revenue"], "Stock": 0.0 if unit == "uur" else 25.0, "Barcode": None})


def _entries(state: ExactState, division: int, accounts: list[dict], refs: dict[str, Any], journal: str,
             vat: str) -> list[dict]:
    from sandbox.exact.registry import rules_for
    from sandbox.exact.salesentry import register_payment
    ctx = _ctx(state, division)
    spec = SPECS["salesentry/salesentries"]
    out = []
    for n, account in enumerate([a for a in accounts if a["Status"] == "C" and not a["Blocked"]][:4]):
        entry = rules_for(spec).create(ctx, spec, {
            "Customer": account["ID"], "Journal": journal, "YourRef": f"TRIBE-{2026000 + n}",
            "Description": f"Factuur {n + 1}", "EntryDate": (state.wall_now() - timedelta(days=20 - n)).date().isoformat(),
            "SalesEntryLines": [{"GLAccount": refs["revenue"], "AmountFC": 100.0 * (n + 1), "VATCode": vat,
                                 "Description": "Consultancy"},
                                {"GLAccount": refs["revenue"], "AmountFC": 25.5, "VATCode": vat,
                                 "Description": "Reiskosten"}]})
        out.append(entry)
    if out:
        register_payment(ctx, out[0]["EntryID"], out[0]["AmountFC"])
    return out


def seed(state: ExactState, *, rng_seed: int = 7, extra_accounts: int = 30) -> dict[str, int]:
    """Fill ``state`` (``reset()`` seeds it again). Returns record counts per division."""
    with state.lock:
        state._seed_args = {"rng_seed": rng_seed, "extra_accounts": extra_accounts}
        state.add_division(NL, "Tribe Demo B.V.", country="NL", City="Amsterdam", VATNumber="NL001234567B01")
        state.add_division(BE, "Tribe Demo BV (België)", country="BE", City="Antwerpen", VATNumber="BE0123456789")
        state.add_division(NL_OLD, "Tribe Demo Archief B.V.", country="NL", City="Amsterdam")
        state.add_division(FOREIGN, "Andere Klant B.V.", country="NL", accessible=False)
        counts = {}
        for division, locale, country, journal, vat, extra in ((NL, "nl_NL", "NL", "70", "1  ", extra_accounts),
                                                               (BE, "nl_BE", "BE", "700", "3  ", extra_accounts // 3),
                                                               (NL_OLD, "nl_NL", "NL", "70", "1  ", 0)):
            fake = Faker(locale)
            fake.seed_instance(rng_seed + division)
            refs = _reference(state, division)
            fixed = _NL_ACCOUNTS if division != NL_OLD else _NL_ACCOUNTS[:2]
            accounts = _accounts(state, division, fake, fixed, extra, country)
            _items(state, division, refs)
            _entries(state, division, accounts, refs, journal, vat)
            if len(accounts) > 12:  # a bulk edit: several accounts share one sync Timestamp
                state.store.touch(division, SPECS["crm/accounts"], [a["ID"] for a in accounts[4:12]],
                                  same_timestamp=True)
            counts[division] = sum(len(state.store.table(division, s)) for s in
                                   ("crm/Accounts", "crm/Contacts", "logistics/Items", "salesentry/SalesEntries"))
        state.current_division = NL
        return counts
