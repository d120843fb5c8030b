"""Reference data every PowerOffice Go client has: VAT codes, chart of accounts, payment terms.

Present from the start (and after ``reset()``) because no real client is without them.
Norwegian SAF-T VAT codes; account numbers from NS 4102.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["install"]

# (Code, Name, Rate, IsActive, IsCustom, ValidTo)
VAT_CODES = [
    ("0", "Ingen mva-behandling (anskaffelser)", 0.0, True, False, None),
    ("1", "Fradrag inngående mva, høy sats", 0.25, True, False, None),
    ("11", "Fradrag inngående mva, middels sats", 0.15, True, False, None),
    ("13", "Fradrag inngående mva, lav sats", 0.12, True, False, None),
    ("3", "Utgående mva, høy sats", 0.25, True, False, None),
    ("31", "Utgående mva, middels sats", 0.15, True, False, None),
    ("33", "Utgående mva, lav sats", 0.12, True, False, None),
    ("5", "Innenlands omsetning fritatt for mva", 0.0, True, False, None),
    ("52", "Utførsel av varer og tjenester", 0.0, True, False, None),
    ("6", "Omsetning utenfor mva-loven", 0.0, True, False, None),
    ("7", "Ingen mva-behandling (inntekter)", 0.0, True, False, None),
    ("C31", "Utgående mva, midlertidig sats (utgått)", 0.12, False, True, date(2021, 9, 30)),
]

# (AccountNo, Name, Type, VatCode)
ACCOUNTS = [
    (1500, "Kundefordringer", "Asset", "0"),
    (1920, "Bankinnskudd", "Asset", "0"),
    (2400, "Leverandørgjeld", "Liability", "0"),
    (2700, "Utgående merverdiavgift", "Liability", "0"),
    (3000, "Salgsinntekt, avgiftspliktig", "Income", "3"),
    (3030, "Salgsinntekt, avgiftspliktig middels sats", "Income", "31"),
    (3040, "Salgsinntekt, avgiftspliktig lav sats", "Income", "33"),
    (3100, "Salgsinntekt, avgiftsfri", "Income", "5"),
    (3200, "Salgsinntekt, utenfor avgiftsområdet", "Income", "6"),
    (4000, "Innkjøp av råvarer og halvfabrikata", "Expense", "1"),
    (6300, "Leie lokale", "Expense", "1"),
    (7770, "Bank- og kortgebyrer", "Expense", "0"),
]

# (Name, CreditDays, IsDefault)
PAYMENT_TERMS = [("14 dager netto", 14, True), ("30 dager netto", 30, False), ("Kontant", 0, False)]

CONTACT_GROUPS = ["Kunder Oslo", "Storkunder", "Nederland", "Leverandører drift"]

# (Code, Name, ProductType, UnitOfMeasureCode, sales account)
PRODUCT_GROUPS = [
    ("VARER", "Varer", "Product", "EA", 3000),
    ("TJENESTER", "Tjenester", "Service", "HUR", 3000),
    ("ABONNEMENT", "Abonnement", "Service", "MON", 3000),
    ("EKSPORT", "Eksportvarer", "Product", "EA", 3100),
]


def install(state: PowerOfficeState) -> None:
    """Load the reference tables into an empty state (caller holds the lock)."""
    now = state.clock.now()
    vat_ids: dict[str, int] = {}
    for code, name, rate, active, custom, valid_to in VAT_CODES:
        vid = state.next_id("vat_codes")
        vat_ids[code] = vid
        state.table("vat_codes")[vid] = {
            "Id": vid, "Code": code, "Name": name, "Description": name, "Rate": rate, "IsActive": active,
            "IsCustom": custom, "ValidFrom": date(2017, 1, 1), "ValidTo": valid_to, "BaseVatCodeId": None,
            "VatBasisRatio": None, "VatBasisRatioValidFrom": None, "VatBasisRatios": None,
        }
    for number, name, kind, vat in ACCOUNTS:
        aid = state.next_id("accounts")
        state.table("accounts")[aid] = {
            "Id": aid, "AccountNo": number, "Name": name, "GeneralLedgerAccountType": kind, "VatCode": vat,
            "VatCodeId": vat_ids[vat], "IsVatCodeLocked": kind == "Income", "IsActive": True,
            "IsDepartmentRequired": False, "IsProjectRequired": False, "DepartmentId": None,
            "DepartmentCode": None, "CurrencyCode": None, "Unit1": None, "Unit2": None,
            "AgricultureDepartment": None, "VatReturnSpecification": None, "LastChangedDateTimeOffset": now,
        }
    for name, days, default in PAYMENT_TERMS:
        pid = state.next_id("payment_terms")
        state.table("payment_terms")[pid] = {
            "Id": pid, "Name": name, "CreditDays": days, "IsActive": True, "IsDefault": default,
            "CreatedDateTimeOffset": now, "LastChangedDateTimeOffset": now,
        }
    for name in CONTACT_GROUPS:
        gid = state.next_id("contact_groups")
        state.table("contact_groups")[gid] = {"Id": gid, "Name": name}
    for code, name, ptype, unit, account in PRODUCT_GROUPS:
        state.insert("product_groups", {"Code": code, "Name": name, "ProductType": ptype,
                                        "UnitOfMeasureCode": unit,
                                        "StandardSalesAccountId": state.account_by_no(account)["Id"]})
