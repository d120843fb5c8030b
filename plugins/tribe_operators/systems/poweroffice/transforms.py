"""PowerOffice's named transforms (``transform:`` in its mapping files): its address block, and
the sales account a product is booked on."""
from __future__ import annotations

from typing import Any

from tribe_operators.mapping.transforms import MapContext, bad_value, text

__all__ = ["TRANSFORMS"]


def po_address(value: Any, ctx: MapContext, record: dict[str, Any]) -> dict[str, Any] | None:
    """A Tribe ``Address`` → an accounting address block (street + number + suffix on line 1)."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise bad_value(f"expected an address object, got {type(value).__name__}")
    number = value.get("HouseNumber")
    number_text = str(int(number)) if isinstance(number, float) and number.is_integer() else (
        str(number) if number not in (None, "") else "")
    line1 = " ".join(p for p in (value.get("Street") or "", number_text + (value.get("HouseNumberSuffix") or ""))
                     if p).strip()
    country = value.get("Country") if isinstance(value.get("Country"), dict) else {}
    return {
        "AddressLine1": text(line1, ctx, record, max_length=200),
        "AddressLine2": text(value.get("Extra"), ctx, record, max_length=200),
        "ZipCode": text(value.get("Postalcode"), ctx, record, max_length=50),
        "City": text(value.get("City"), ctx, record, max_length=100),
        "CountryCode": (country or {}).get("Code") or None,
    }


def sales_account(value: Any, ctx: MapContext, record: dict[str, Any], *, vat_by_account: str,
                  id_by_account: str) -> int | None:
    """A PowerOffice VAT code → the sales account a product is booked on (PowerOffice keeps a
    product's VAT on its account): the settings' default ledger account when its VAT code
    matches, else the lowest-numbered sales (3xxx) account with that code."""
    vat = ctx.lookups.get(vat_by_account, {})
    default = str(ctx.settings.get("default_ledger_account", ""))
    if value in (None, ""):  # no VAT group in Tribe: the default ledger account, as it is
        value = vat.get(default)
        if value is None:
            return None
    candidates = sorted((int(no) for no, code in vat.items() if str(code) == str(value) and no.isdigit()
                         and 3000 <= int(no) < 4000))
    chosen = default if vat.get(default) == str(value) else (str(candidates[0]) if candidates else None)
    if chosen is None or chosen not in ctx.lookups.get(id_by_account, {}):
        raise bad_value(f"no sales account in PowerOffice has VAT code {value!r}; set default_ledger_account "
                   f"to one that has it, or map the Tribe VAT group to another code in 'vat_map'")
    return int(ctx.lookups[id_by_account][chosen])


TRANSFORMS = {"po_address": po_address, "sales_account": sales_account}
