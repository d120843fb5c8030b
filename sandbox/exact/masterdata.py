"""Relations and products: ``crm/Accounts``, ``crm/Contacts``, ``logistics/Items``.

Accounts: ``Code`` is 18 characters right-aligned; a new account without one gets the highest
numeric code + 1 (basvanbeek tips). ``Country`` comes back padded to 3 ("NL "). Status C makes a
customer (``IsSales``), ``IsSupplier`` a supplier; one account can be both. There is no
house-number field: street, number and addition share ``AddressLine1``.
Contacts show their account's fields (read-only) as they are *now*; Items their unit, group and
VAT code descriptions.
"""
from __future__ import annotations

import re
from typing import Any

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import ExactError
from sandbox.exact.rules import Ctx, Rules, by_code, mandatory, reference
from sandbox.exact.values import pad_code

__all__ = ["AccountRules", "ContactRules", "ItemRules", "split_address"]

_COUNTRIES = {"NL": "Nederland", "BE": "België", "DE": "Duitsland", "FR": "Frankrijk", "GB": "Verenigd Koninkrijk",
              "LU": "Luxemburg"}
_HOUSE = re.compile(r"^(?P<street>.*?\D)\s*(?P<number>\d+)\s*(?:[-/]\s*)?(?P<suffix>[A-Za-z0-9]{0,6})$")


def split_address(line: str | None) -> tuple[str | None, str | None, str | None]:
    """``Kerkstraat 12 A`` -> (Kerkstraat, 12, A): how Contacts' read-only address parts look. [INFER]"""
    match = _HOUSE.match((line or "").strip())
    if not match:
        return line, None, None
    return match["street"].strip(), match["number"], match["suffix"] or None


class AccountRules(Rules):
    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        country = (row.get("Country") or "").strip()
        return dict(row, IsSales=row.get("Status") == "C", Type=row.get("Type") or "A",
                    CountryName=_COUNTRIES.get(country) if country else None)

    def _code(self, ctx: Ctx, spec: EntitySpec, values: dict[str, Any], own: Any = None) -> None:
        rows, store = ctx.state.store.table(ctx.division, spec), ctx.state.store

        def highest() -> int:
            return max((int(r["Code"]) for r in rows.values() if (r.get("Code") or "").strip().isdigit()), default=0)

        if values.get("Code") is not None and str(values["Code"]).strip():
            code = pad_code(values["Code"])
            if any(r["Code"] == code and r["ID"] != own for r in rows.values()):
                raise ExactError(400, f"Code {code.strip()} bestaat al.")  # [INFER] the wording
            values["Code"] = code
            if code.strip().isdigit():
                store.bump_seq(ctx.division, "account-code", max(int(code), highest()))
        elif own is None:
            values["Code"] = pad_code(store.next_after(ctx.division, "account-code", highest))

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "Name")
        self._code(ctx, spec, values)
        values.setdefault("Blocked", False)
        values.setdefault("IsSupplier", False)
        values.setdefault("Status", values.get("Status") or "")
        if values.get("Country"):
            values["Country"] = values["Country"].strip().upper().ljust(3)
        return ctx.state.store.insert(ctx.division, spec, values, ctx.user)

    def update(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any], body: dict[str, Any]) -> None:
        values = self.writable(ctx, spec, body)
        values.pop("ID", None)
        if "Code" in values:
            self._code(ctx, spec, values, own=row["ID"])
        if values.get("Country"):
            values["Country"] = values["Country"].strip().upper().ljust(3)
        ctx.state.store.update(ctx.division, spec, row, values, ctx.user)

    def delete(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any]) -> None:
        entries = ctx.table("salesentry/SalesEntries").values()
        if any(e["Customer"] == row["ID"] for e in entries):
            raise ExactError(400, "Relatie is in gebruik en kan niet worden verwijderd.")  # [INFER]
        contacts = ctx.spec("crm/Contacts")
        for contact in [c for c in ctx.table("crm/Contacts").values() if c["Account"] == row["ID"]]:
            ctx.state.store.delete(ctx.division, contacts, contact["ID"], ctx.user)
        super().delete(ctx, spec, row)


class ContactRules(Rules):
    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        account = ctx.table("crm/Accounts").get(row.get("Account")) or {}
        street, number, suffix = split_address(account.get("AddressLine1"))
        name = " ".join(p for p in (row.get("FirstName"), row.get("MiddleName"), row.get("LastName")) if p)
        return dict(row, AccountName=account.get("Name"), AccountIsCustomer=account.get("Status") == "C",
                    AccountIsSupplier=bool(account.get("IsSupplier")), AccountMainContact=account.get("MainContact"),
                    IsMainContact=account.get("MainContact") == row["ID"], Code=account.get("Code"),
                    City=account.get("City"), Postcode=account.get("Postcode"), Country=account.get("Country"),
                    AddressStreet=street, AddressStreetNumber=number, AddressStreetNumberSuffix=suffix,
                    FullName=name or None)

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "Account")
        reference(ctx, "crm/Accounts", values["Account"], "Account")
        if not (values.get("FirstName") or values.get("LastName")):
            mandatory(values, "LastName")
        return ctx.state.store.insert(ctx.division, spec, values, ctx.user)


class ItemRules(Rules):
    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        unit = by_code(ctx, "logistics/Units", row.get("Unit")) or {}
        group = ctx.table("logistics/ItemGroups").get(row.get("ItemGroup")) or {}
        vat = by_code(ctx, "vat/VATCodes", row.get("SalesVatCode")) or {}
        revenue = ctx.table("financial/GLAccounts").get(row.get("GLRevenue")) or {}
        return dict(row, UnitDescription=unit.get("Description"), UnitType=unit.get("Type"),
                    ItemGroupCode=group.get("Code"), ItemGroupDescription=group.get("Description"),
                    SalesVatCodeDescription=vat.get("Description"), GLRevenueCode=revenue.get("Code"))

    def _check(self, ctx: Ctx, values: dict[str, Any]) -> None:
        if values.get("Unit") is not None and not by_code(ctx, "logistics/Units", values["Unit"]):
            raise ExactError(400, "Ongeldige referentie: Unit")
        if values.get("ItemGroup") is not None:
            reference(ctx, "logistics/ItemGroups", values["ItemGroup"], "ItemGroup")
        if values.get("SalesVatCode") is not None and not by_code(ctx, "vat/VATCodes", values["SalesVatCode"]):
            raise ExactError(400, "Ongeldige referentie: VATCode")

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "Code", "Description")
        if by_code(ctx, "logistics/Items", values["Code"]):
            raise ExactError(400, f"Code {values['Code']} bestaat al.")  # [INFER]
        self._check(ctx, values)
        if values.get("ItemGroup") is None:
            default = next((g for g in ctx.table("logistics/ItemGroups").values() if g.get("IsDefault")), None)
            values["ItemGroup"] = default["ID"] if default else None
        for flag in ("IsSalesItem", "IsPurchaseItem", "IsStockItem"):
            values.setdefault(flag, flag == "IsSalesItem")
        values.setdefault("Stock", 0.0)
        return ctx.state.store.insert(ctx.division, spec, values, ctx.user)

    def update(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any], body: dict[str, Any]) -> None:
        values = self.writable(ctx, spec, body)
        values.pop("ID", None)
        self._check(ctx, values)
        ctx.state.store.update(ctx.division, spec, row, values, ctx.user)
