"""Customers, suppliers and contact persons: defaults, validation, create/patch/delete.

Customers and suppliers are two roles of one *contact*: they share an id space, and the same
``Id`` may be both. Each role has its own number series (customers 10000-19999, suppliers
20000-29999) and its own ``ExternalImportReference``/``ExternalNumber`` uniqueness scope.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.poweroffice import dto
from sandbox.poweroffice import validation as v
from sandbox.poweroffice.jsonpatch import apply_patch
from sandbox.poweroffice.problems import ApiError, conflict, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["create_contact", "create_person", "delete_contact", "delete_person", "find_contact",
           "find_person", "insert_contact", "insert_person", "patch_contact", "patch_person"]

SERIES = {"customers": (10000, 19999), "suppliers": (20000, 29999)}
LABEL = {"customers": "Customer", "suppliers": "Supplier"}
_SHAPE = {"customers": (dto.CUSTOMER, dto.CUSTOMER_POST, dto.CUSTOMER_PATCH),
          "suppliers": (dto.SUPPLIER, dto.SUPPLIER_POST, dto.SUPPLIER_PATCH)}
_EMAILS = ("EmailAddress", "InvoiceEmailAddress", "InvoiceEmailAddressCC", "PaymentReminderEmailAddress")
_PERSON_TITLE = "ContactPerson validation error(s)"
_DEFAULTS = {
    "customers": {"CurrencyCode": "NOK", "IsArchived": False, "IsPerson": False, "IsVatFree": False,
                  "ContactGroupIds": [], "SendPaymentReminders": True, "UseInvoiceFee": False,
                  "TransferToDebtCollectionAgency": False, "DoNotAddLatePaymentFees": False,
                  "DoNotAddLatePaymentInterest": False, "DoNotAutomatePaymentNotifications": False},
    "suppliers": {"CurrencyCode": "NOK", "IsArchived": False, "IsPerson": False, "ContactGroupIds": [],
                  "Payout": True},
}


def _title(kind: str) -> str:
    return f"{LABEL[kind]} validation error(s)"


def _address(state: PowerOfficeState, address: dict[str, Any] | None, old: dict[str, Any] | None = None
             ) -> dict[str, Any] | None:
    if address is None:
        return None
    out = {k: None for k in dto.CONTACT_ADDRESS} | (old or {}) | dto.native(dict(address))
    out["Id"] = (old or {}).get("Id") or state.next_id("address")
    out["CountryCode"] = (out.get("CountryCode") or "NO").upper()
    out["LastChangedDateTimeOffset"] = state.now()
    return out


def _derive(state: PowerOfficeState, kind: str, rec: dict[str, Any]) -> None:
    if rec.get("IsPerson") and not rec.get("Name"):
        rec["Name"] = f"{rec.get('FirstName') or ''} {rec.get('LastName') or ''}".strip()
    rec["IsActive"] = not rec.get("IsArchived")
    if kind == "customers":
        term = state.table("payment_terms").get(rec.get("PaymentTermId"))
        rec["PaymentTerm"] = term["CreditDays"] if term else None


def _next_number(state: PowerOfficeState, kind: str) -> int:
    low, high = SERIES[kind]
    used = [r["Number"] for r in state.table(kind).values() if r.get("Number") and low <= r["Number"] <= high]
    return max(used, default=low - 1) + 1


def insert_contact(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a customer or supplier as given (trusted: seeders, tests, and the API after validation)."""
    fields = dto.native(fields)
    table = state.table(kind)
    cid = fields.pop("Id", None) or state.next_id("contact")
    state.bump_series("contact", cid)
    if cid in table:
        raise ValueError(f"{LABEL[kind]} with id = {cid} already exists")
    other = state.table("suppliers" if kind == "customers" else "customers").get(cid)
    now = state.now()
    shape = _SHAPE[kind][0]
    rec: dict[str, Any] = {f: None for f in shape} | _DEFAULTS[kind]
    rec.update({k: val for k, val in fields.items() if k in shape})
    rec["Id"] = cid
    role_created = "CustomerCreatedDateTimeOffset" if kind == "customers" else "SupplierCreatedDateTimeOffset"
    rec["ContactCreatedDateTimeOffset"] = (fields.get("ContactCreatedDateTimeOffset")
                                           or (other or {}).get("ContactCreatedDateTimeOffset") or now)
    rec[role_created] = fields.get(role_created) or now
    rec["LastChangedDateTimeOffset"] = fields.get("LastChangedDateTimeOffset") or now
    rec["Number"] = rec["Number"] or _next_number(state, kind)
    rec["SubledgerAccountId"] = 90_000_000 + cid if kind == "customers" else 95_000_000 + cid
    rec["MailAddress"] = _address(state, fields.get("MailAddress"))
    if "PaymentTerm" in fields and kind == "customers" and not rec.get("PaymentTermId"):
        v.resolve_payment_term(state, rec | {"PaymentTerm": fields["PaymentTerm"]})
    _derive(state, kind, rec)
    table[cid] = rec
    return rec


def _validate(state: PowerOfficeState, kind: str, values: dict[str, Any], own_id: int | None,
              creating: bool, check_org: bool = True) -> None:
    title = _title(kind)
    if values.get("IsPerson"):
        v.require_text(values, "FirstName", title)
        v.require_text(values, "LastName", title)
    else:
        v.require_text(values, "Name", title)
    v.check_maxlen(values, {"ExternalImportReference": 50, "Name": 400, "LegalName": 400,
                            "InvoiceEmailAddressCC": 1000}, title)
    v.check_email(values, _EMAILS, title)
    v.check_address(values.get("MailAddress"), title, creating=creating)
    if check_org:  # stored (seeded) values are not re-judged on unrelated patches
        v.check_orgnr(state, values, title)
    table = state.table(kind)
    v.check_unique(table, "ExternalImportReference", values.get("ExternalImportReference"), own_id, title)
    v.check_unique(table, "ExternalNumber", values.get("ExternalNumber"), own_id, title)
    number = values.get("Number")
    if number is not None:
        low, high = SERIES[kind]
        if not low <= number <= high:
            raise ApiError(400, title, f"Number {number} is outside the {LABEL[kind].lower()} ledger "
                                       f"number series ({low} - {high}).")
        v.check_unique(table, "Number", number, own_id, title)
    allowance = values.get("Allowance")
    if allowance is not None and not -1000 <= allowance <= 100:
        raise ApiError(400, title, "Allowance must be between -1000 and 100.")
    currency = values.get("CurrencyCode")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise ApiError(400, title, f"CurrencyCode '{currency}' is not a valid ISO 4217 code.")
    v.check_contact_groups(state, values.get("ContactGroupIds"))
    v.resolve_payment_term(state, values)
    v.unsupported_refs(values)


def create_contact(state: PowerOfficeState, kind: str, body: Any) -> dict[str, Any]:
    """``POST /Customers`` / ``POST /Suppliers``."""
    values = dto.writable(body, _SHAPE[kind][1], _title(kind))
    _validate(state, kind, values, None, creating=True)
    if values.get("IsArchived") is None:
        values.pop("IsArchived", None)
    return insert_contact(state, kind, {k: val for k, val in values.items() if val is not None})


def find_contact(state: PowerOfficeState, kind: str, cid: int) -> dict[str, Any]:
    """A customer/supplier record or 404 "Customer with id = N not found."."""
    rec = state.table(kind).get(cid)
    if rec is None:
        raise not_found(f"{LABEL[kind]} with id = {cid} not found.")
    return rec


def _ledger_balance(state: PowerOfficeState, cid: int) -> float:
    return round(sum(e["Balance"] for e in state.table("ledger_entries").values() if e["CustomerId"] == cid), 2)


def patch_contact(state: PowerOfficeState, kind: str, cid: int, ops: Any) -> dict[str, Any]:
    """``PATCH /Customers/{id}`` with a JSON Patch limited to ``CustomerPatchDto``."""
    rec = find_contact(state, kind, cid)
    allowed = _SHAPE[kind][2]
    title = _title(kind)
    patched = apply_patch({k: rec.get(k) for k in allowed}, ops, allowed, title=title,
                          dto_name=f"{LABEL[kind]}PatchDto")
    changed = {k: val for k, val in patched.items() if val != rec.get(k)}
    candidate = rec | changed
    _validate(state, kind, candidate, cid, creating=False, check_org="OrganizationNumber" in changed)
    if changed.get("IsArchived") and kind == "customers" and _ledger_balance(state, cid):
        raise ApiError(400, title, f"Customer with id = {cid} has ledger balances and cannot be archived.")
    if "MailAddress" in changed:
        changed["MailAddress"] = _address(state, candidate["MailAddress"], rec.get("MailAddress"))
    if "OrganizationNumber" in changed:
        changed["OrganizationNumber"] = candidate["OrganizationNumber"]
    rec.update(changed)
    rec["LastChangedDateTimeOffset"] = state.now()
    _derive(state, kind, rec)
    return rec


def delete_contact(state: PowerOfficeState, kind: str, cid: int) -> None:
    """``DELETE``: 409 when the contact has transactions/orders or is active in its other role."""
    rec = find_contact(state, kind, cid)
    other_kind = "suppliers" if kind == "customers" else "customers"
    other = state.table(other_kind).get(cid)
    in_use = (other is not None and not other.get("IsArchived")) or any(
        row.get("CustomerId") == cid
        for name in ("sales_orders", "outgoing_invoices", "ledger_entries") for row in state.table(name).values())
    if in_use:
        raise conflict(LABEL[kind], f"{LABEL[kind]} with id = {rec['Id']} is in use and cannot be deleted.")
    del state.table(kind)[cid]
    if other is None:  # the contact is gone entirely: so are its people
        persons = state.table("contact_persons")
        for pid in [p for p, row in persons.items() if row["ContactId"] == cid]:
            del persons[pid]


# --- contact persons ----------------------------------------------------------------------------
def _contact_exists(state: PowerOfficeState, cid: int) -> bool:
    return cid in state.table("customers") or cid in state.table("suppliers")


def insert_person(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a contact person as given (``ContactId`` must name a customer or supplier)."""
    fields = dto.native(fields)
    cid = fields.get("ContactId")
    if not _contact_exists(state, cid):
        raise ValueError(f"contact {cid} does not exist")
    now = state.now()
    pid = fields.pop("Id", None) or state.next_id("contact_persons")
    rec: dict[str, Any] = {f: None for f in dto.CONTACT_PERSON} | {"IsActive": True, "IsDefault": False}
    rec.update({k: val for k, val in fields.items() if k in dto.CONTACT_PERSON})
    rec.update(Id=pid, CreatedDateTimeOffset=fields.get("CreatedDateTimeOffset") or now,
               LastChangedDateTimeOffset=fields.get("LastChangedDateTimeOffset") or now)
    if rec.get("MailAddress"):
        rec["MailAddress"] = {k: rec["MailAddress"].get(k) for k in dto.ADDRESS}
    _one_default(state, rec)
    state.table("contact_persons")[pid] = rec
    return rec


def _one_default(state: PowerOfficeState, rec: dict[str, Any]) -> None:
    if rec.get("IsDefault"):
        for other in state.table("contact_persons").values():
            if other["ContactId"] == rec["ContactId"] and other["Id"] != rec["Id"] and other.get("IsDefault"):
                other["IsDefault"] = False
                other["LastChangedDateTimeOffset"] = state.now()


def _validate_person(state: PowerOfficeState, values: dict[str, Any], own_id: int | None, creating: bool) -> None:
    v.require_text(values, "FirstName", _PERSON_TITLE)
    v.require_text(values, "LastName", _PERSON_TITLE)
    v.check_maxlen(values, {"ExternalCode": 50}, _PERSON_TITLE)
    v.check_email(values, ("EmailAddress",), _PERSON_TITLE)
    v.check_address(values.get("MailAddress"), _PERSON_TITLE, creating=creating)
    v.check_unique(state.table("contact_persons"), "ExternalCode", values.get("ExternalCode"), own_id,
                   _PERSON_TITLE, owner="contact person Id")


def create_person(state: PowerOfficeState, cid: int, body: Any) -> dict[str, Any]:
    """``POST /ContactPersons/{contactId}``."""
    if not _contact_exists(state, cid):
        raise not_found(f"Contact with id = {cid} not found.")
    values = dto.writable(body, dto.CONTACT_PERSON_POST, _PERSON_TITLE)
    _validate_person(state, values, None, creating=True)
    return insert_person(state, "contact_persons",
                         {k: val for k, val in values.items() if val is not None} | {"ContactId": cid})


def find_person(state: PowerOfficeState, cid: int, pid: int) -> dict[str, Any]:
    """A contact person of a contact, or 404."""
    if not _contact_exists(state, cid):
        raise not_found(f"Contact with id = {cid} not found.")
    rec = state.table("contact_persons").get(pid)
    if rec is None or rec["ContactId"] != cid:
        raise not_found(f"Contact person with id = {pid} not found on contact with id = {cid}.")
    return rec


def patch_person(state: PowerOfficeState, cid: int, pid: int, ops: Any) -> dict[str, Any]:
    """``PATCH /ContactPersons/{contactId}/{id}`` (the contact's own LastChanged is untouched)."""
    rec = find_person(state, cid, pid)
    patched = apply_patch({k: rec.get(k) for k in dto.CONTACT_PERSON_PATCH}, ops, dto.CONTACT_PERSON_PATCH,
                          title=_PERSON_TITLE, dto_name="ContactPersonPatchDto")
    if patched.get("MailAddress"):
        patched["MailAddress"] = {k: patched["MailAddress"].get(k) for k in dto.ADDRESS}
    _validate_person(state, rec | patched, pid, creating=False)
    rec.update(patched)
    rec["LastChangedDateTimeOffset"] = state.now()
    _one_default(state, rec)
    return rec


def delete_person(state: PowerOfficeState, cid: int, pid: int) -> None:
    """``DELETE /ContactPersons/{contactId}/{id}``: 409 while a sales order references the person."""
    find_person(state, cid, pid)
    if any(o.get("CustomerReferenceContactPersonId") == pid for o in state.table("sales_orders").values()):
        raise conflict("ContactPerson", f"Contact person with id = {pid} is in use and cannot be deleted.")
    del state.table("contact_persons")[pid]
