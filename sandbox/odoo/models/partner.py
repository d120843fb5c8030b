"""``res.partner``: companies, individuals and their contacts (base + account fields).

Odoo keeps a company's contacts in step with it: a child of type ``contact`` takes the
parent's address, and every descendant carries the commercial partner's ``vat`` (Odoo's
``_fields_sync``/``_children_sync``, done through ``write`` so the children's ``write_date``
moves too). VAT numbers are checked with python-stdnum like ``base_vat`` does.
"""
from __future__ import annotations

import zoneinfo
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.errors import ValidationError
from sandbox.odoo.models import boolean, char, html, integer, m2o, o2m, selection
from sandbox.odoo.registry import Hooks, ModelDef

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["check_vat", "commercial", "define"]

ADDRESS_FIELDS = ("street", "street2", "zip", "city", "state_id", "country_id")
COMMERCIAL_FIELDS = ("vat",)
TYPES = [("contact", "Contact"), ("invoice", "Invoice Address"), ("delivery", "Delivery Address"),
         ("other", "Other Address")]
LANGS = [("en_US", "English (US)"), ("nl_NL", "Dutch / Nederlands"), ("nl_BE", "Dutch (BE) / Nederlands (BE)"),
         ("fr_BE", "French (BE) / Français (BE)"), ("de_DE", "German / Deutsch"), ("fr_FR", "French / Français")]
_TZS = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]
# What base_vat says the number should look like ([INFER] examples).
_VAT_FORMAT = {"nl": "NL123456782B90", "be": "BE0477472701", "de": "DE123456788", "fr": "FR23334175221"}


def commercial(env: Env, row: dict[str, Any]) -> dict[str, Any]:
    seen = set()
    while row.get("parent_id") and not row.get("is_company") and row["id"] not in seen:
        seen.add(row["id"])
        parent = env.store.get("res.partner", row["parent_id"])
        if parent is None:
            break
        row = parent
    return row


def _complete_name(env: Env, row: dict[str, Any]) -> str:
    name = row.get("name") or ""
    parent = env.store.get("res.partner", row["parent_id"]) if row.get("parent_id") else None
    if row.get("company_name") or parent:
        if not name and row.get("type") in ("invoice", "delivery", "other"):
            name = dict(TYPES)[row["type"]]
        if not row.get("is_company"):
            top = commercial(env, row)
            company = top.get("name") if top.get("is_company") else row.get("company_name")
            name = f"{company or (parent or {}).get('name') or ''}, {name}"
    return name.strip()


def _set_company_type(env: Env, rid: int, value: Any) -> None:
    from sandbox.odoo.writing import write

    write(env, "res.partner", [rid], {"is_company": value == "company"})


def check_vat(vat: str, country_code: str | None) -> bool:
    """base_vat's rule: the number's own country prefix (else the partner's country) picks the
    stdnum module; numbers of countries stdnum does not know pass."""
    from stdnum.util import get_cc_module

    compact = vat.replace(" ", "").replace(".", "").replace("-", "")
    prefix = compact[:2].lower()
    cc, number = (prefix, compact) if prefix.isalpha() else ((country_code or "").lower(), compact)
    if not cc:
        return True
    module = get_cc_module("gr" if cc == "el" else cc, "vat")
    if module is None:
        return True
    candidate = number if number[:2].lower() == cc else cc.upper() + number
    return bool(module.is_valid(candidate))


class PartnerHooks(Hooks):
    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        return _complete_name(env, row)

    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        mode = env.context.get("res_partner_search_mode")  # creating "as a customer" sets its rank
        if mode in ("customer", "supplier"):
            vals.setdefault(f"{mode}_rank", 1)
        if env.state.partner_sequence and not vals.get("ref") and not vals.get("parent_id"):
            taken = [r.get("ref") or "" for r in env.store.rows("res.partner")]
            prefix = env.state.partner_sequence
            numbers = [int(t[len(prefix):]) for t in taken if t.startswith(prefix) and t[len(prefix):].isdigit()]
            vals["ref"] = f"{prefix}{max(numbers, default=10000) + 1}"
        if "company_type" in vals and "is_company" not in vals:
            vals["is_company"] = vals.pop("company_type") == "company"
        if vals.get("parent_id") and vals.get("type", "contact") == "contact":
            parent = env.store.get("res.partner", vals["parent_id"]) or {}
            for name in ADDRESS_FIELDS:
                vals.setdefault(name, parent.get(name) or False)
        if vals.get("parent_id"):
            top = commercial(env, env.store.get("res.partner", vals["parent_id"]) or {"id": 0})
            for name in COMMERCIAL_FIELDS:
                vals[name] = top.get(name) or False
        return vals

    def after_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        from sandbox.odoo.writing import write

        address = {k: v for k, v in vals.items() if k in ADDRESS_FIELDS}
        synced = {k: v for k, v in vals.items() if k in COMMERCIAL_FIELDS}
        for rid in ids:
            children = [r for r in env.store.rows("res.partner") if r.get("parent_id") == rid]
            contacts = [c["id"] for c in children if c.get("type") == "contact"
                        and any(c.get(k) != env.store.get("res.partner", rid).get(k) for k in address)]
            if address and contacts:
                write(env, "res.partner", contacts, {k: env.store.get("res.partner", rid).get(k) for k in address})
            if synced and children:
                row = env.store.get("res.partner", rid)
                if row.get("is_company") or not row.get("parent_id"):
                    write(env, "res.partner", [c["id"] for c in children],
                          {k: row.get(k) for k in synced})

    def constraints(self, env: Env, ids: list[int]) -> None:
        for rid in ids:
            row = env.store.get("res.partner", rid)
            if row is None:
                continue
            if row.get("type") == "contact" and not row.get("name"):
                raise ValidationError("The operation cannot be completed: Contacts require a name")
            seen, up = {rid}, row.get("parent_id")
            while up:
                if up in seen:
                    raise ValidationError("You cannot create recursive Partner hierarchies.")
                seen.add(up)
                up = (env.store.get("res.partner", up) or {}).get("parent_id")
            vat = row.get("vat")
            if env.state.check_vat and vat and vat != "/":
                country = env.store.get("res.country", row.get("country_id")) if row.get("country_id") else None
                code = (country or {}).get("code")
                if not check_vat(vat, code):
                    cc = vat[:2].lower() if vat[:2].isalpha() else (code or "").lower()
                    raise ValidationError(f"The VAT number [{vat}] for partner [{row.get('name')}] does not seem "
                                          f"to be valid. \nNote: the expected format is "
                                          f"{_VAT_FORMAT.get(cc, cc.upper() + '0000000000')}")


def define(p: VersionProfile) -> list[ModelDef]:
    fields: dict[str, Any] = {
        "name": char("Name"),
        "complete_name": char("Complete Name", compute=_complete_name),
        "parent_id": m2o("res.partner", "Related Company"),
        "child_ids": o2m("res.partner", "parent_id", "Contact", domain=(("active", "=", True),)),
        "ref": char("Reference"),
        "lang": selection("Language", LANGS, default=lambda env, vals: env.context.get("lang") or "en_US"),
        "tz": selection("Timezone", _TZS, default=lambda env, vals: env.context.get("tz") or False),
        "user_id": m2o("res.users", "Salesperson"),
        "vat": char("Tax ID", help="The Tax Identification Number. Values here will be validated based on the "
                                   "country format. You can use '/' to indicate that the partner is not subject "
                                   "to tax."),
        "website": char("Website Link"),
        "comment": html("Notes"),
        "active": boolean("Active", default=True),
        "type": selection("Address Type", TYPES, default="contact"),
        "street": char("Street"),
        "street2": char("Street2"),
        "zip": char("Zip"),
        "city": char("City"),
        "state_id": m2o("res.country.state", "State", ondelete="restrict"),
        "country_id": m2o("res.country", "Country", ondelete="restrict"),
        "country_code": char("Country Code", related=("country_id", "code")),
        "email": char("Email"),
        "phone": char("Phone"),
        "is_company": boolean("Is a Company", default=False),
        "company_type": selection("Company Type", [("person", "Individual"), ("company", "Company")], store=False,
                                  compute=lambda env, row: "company" if row.get("is_company") else "person",
                                  inverse=_set_company_type),
        "company_name": char("Company Name"),
        "function": char("Job Position"),
        "company_id": m2o("res.company", "Company"),
        "commercial_partner_id": m2o("res.partner", "Commercial Entity",
                                     compute=lambda env, row: commercial(env, row)["id"]),
        "customer_rank": integer("Customer Rank", default=0),
        "supplier_rank": integer("Supplier Rank", default=0),
    }
    if p.partner_mobile:
        fields["mobile"] = char("Mobile")
    return [ModelDef("res.partner", "Contact", fields, order="complete_name ASC, id DESC",
                     rec_names_search=("complete_name", "email", "ref", "vat"), parent_name="parent_id",
                     company_field="company_id", company_shared=True, hooks=PartnerHooks(),
                     methods={"name_create": name_create})]


@api.model
def name_create(self: api.Records, name: str) -> list:
    """res.partner's ``name_create``: ``"Name <email>"`` gives a name and an email, a bare address
    is both; ``force_email`` in the context refuses text without one. [INFER] the address
    parsing is ``tools.parse_contact_from_email`` simplified (stdlib ``getaddresses``)."""
    from sandbox.odoo.reading import display_name
    from sandbox.odoo.writing import create

    text = str(name or "").strip()
    pairs = [(n, e) for n, e in getaddresses([text]) if "@" in e] if text else []
    person, email = (pairs[0][0].strip(), pairs[0][1].strip().lower()) if pairs else (text, "")
    if self.env.context.get("force_email") and not email:
        raise ValidationError("Couldn't create contact without email address!")
    vals: dict[str, Any] = {"name": person or email}
    if email:
        vals["email"] = email
    [rid] = create(self.env, self.name, [vals])
    return [rid, display_name(self.env, self.model, self.env.store.get(self.name, rid))]
