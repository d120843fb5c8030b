"""PowerOffice's named transforms (``transform:`` in its mapping files): the sales account a
product is booked on."""
from __future__ import annotations

from typing import Any

from tribe_operators.mapping.transforms import MapContext, bad_value

__all__ = ["TRANSFORMS"]


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


TRANSFORMS = {"sales_account": sales_account}
