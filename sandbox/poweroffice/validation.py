"""Field checks shared by the resources: e-mails, lengths, org numbers, references.

Each check raises :class:`ApiError` with the resource's title ("Customer validation error(s)")
or, for references to things that do not exist, 404 "Object(s) not found".
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stdnum.no import orgnr

from sandbox.poweroffice.dto import ADDRESS_MAXLEN
from sandbox.poweroffice.problems import ApiError, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = [
    "check_address",
    "check_email",
    "check_maxlen",
    "check_orgnr",
    "check_unique",
    "require_text",
    "resolve_payment_term",
    "unsupported_refs",
]

_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def require_text(values: dict[str, Any], name: str, title: str) -> None:
    """A property that must be present and non-blank."""
    if not str(values.get(name) or "").strip():
        raise ApiError(400, title, f"{name} is required.")


def check_maxlen(values: dict[str, Any], limits: dict[str, int], title: str, prefix: str = "") -> None:
    """String length limits (the spec's ``maxLength``)."""
    for name, limit in limits.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise ApiError(400, title, f"{prefix}{name} must be at most {limit} characters long "
                                       f"(got {len(value)}).")


def check_email(values: dict[str, Any], names: tuple[str, ...], title: str) -> None:
    """E-mail properties; ``InvoiceEmailAddressCC`` holds up to 10 addresses split by ';'."""
    for name in names:
        value = values.get(name)
        if not value:
            continue
        parts = [p.strip() for p in value.split(";") if p.strip()] if name.endswith("CC") else [value.strip()]
        if name.endswith("CC") and len(parts) > 10:
            raise ApiError(400, title, f"{name} can hold at most 10 e-mail addresses.")
        for part in parts:
            if not _EMAIL.match(part):
                raise ApiError(400, title, f"{name} '{part}' is not a valid e-mail address.")


def check_address(address: dict[str, Any] | None, title: str, *, creating: bool) -> None:
    """``MailAddress``: lengths, 2-letter country code, and City + ZipCode on POST."""
    if not address:
        return
    check_maxlen(address, ADDRESS_MAXLEN, title, "MailAddress.")
    if creating:
        for name in ("City", "ZipCode"):
            if not str(address.get(name) or "").strip():
                raise ApiError(400, title, f"MailAddress.{name} is required.")
    country = address.get("CountryCode")
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        raise ApiError(400, title, f"MailAddress.CountryCode '{country}' is not an ISO 3166 alpha-2 code.")


def check_orgnr(state: PowerOfficeState, values: dict[str, Any], title: str) -> None:
    """Norwegian organisation numbers must pass mod-11 (stored compact, 9 digits)."""
    number = values.get("OrganizationNumber")
    country = ((values.get("MailAddress") or {}).get("CountryCode") or "NO").upper()
    if not number or country != "NO" or values.get("IsPerson"):
        return
    compact = orgnr.compact(number)
    if state.validate_orgnr and not orgnr.is_valid(compact):
        raise ApiError(400, title, f"OrganizationNumber '{number}' is not a valid Norwegian organization number.")
    values["OrganizationNumber"] = compact


def check_unique(rows: dict[Any, dict[str, Any]], name: str, value: Any, own_id: Any, title: str,
                 owner: str = "(contact) Id") -> None:
    """Natural keys (ExternalImportReference, ExternalNumber, Code...) are unique per table."""
    if value is None or value == "":
        return
    needle = value.lower() if isinstance(value, str) else value
    for rid, row in rows.items():
        other = row.get(name)
        other = other.lower() if isinstance(other, str) else other
        if rid != own_id and other == needle:
            raise ApiError(400, title, f"{name} is already in use. '{value}' is used on {owner} = {rid}.")


def resolve_payment_term(state: PowerOfficeState, values: dict[str, Any]) -> None:
    """``PaymentTermId`` must exist; a bare ``PaymentTerm`` (days) picks the matching term."""
    terms = state.table("payment_terms")
    term_id = values.get("PaymentTermId")
    if term_id is not None and term_id not in terms:
        raise not_found(f"Payment term with id = {term_id} not found.")
    days = values.pop("PaymentTerm", None)
    if term_id is None and days is not None:
        match = next((t for t in terms.values() if t["CreditDays"] == days), None)
        if match is None:
            raise not_found(f"Payment term with credit days = {days} not found.")
        values["PaymentTermId"] = match["Id"]


# Dimensions and settings this simulator does not model: any reference to them is unknown.
_UNMODELLED = {
    "DepartmentId": "Department with id = {} not found.",
    "DepartmentCode": "Department with code = '{}' not found.",
    "ProjectId": "Project with id = {} not found.",
    "ProjectCode": "Project with code = '{}' not found.",
    "LocationId": "Location with id = {} not found.",
    "LocationCode": "Location with code = '{}' not found.",
    "DeliveryTermId": "Delivery term with id = {} not found.",
    "DeliveryTerm": "Delivery term with name = '{}' not found.",
    "SalesPersonEmployeeId": "Employee with id = {} not found.",
    "SalesPersonEmployeeNumber": "Employee with number = {} not found.",
    "SellersReferenceEmployeeId": "Employee with id = {} not found.",
    "SellersReferenceEmployeeNo": "Employee with number = {} not found.",
    "InvoiceBrandingThemeId": "Branding theme with id = {} not found.",
    "InvoiceBrandingThemeCode": "Branding theme with code = '{}' not found.",
    "BrandingThemeId": "Branding theme with id = {} not found.",
    "BrandingThemeCode": "Branding theme with code = '{}' not found.",
    "ContactDeliveryAddressId": "Contact delivery address with id = {} not found.",
    "SubLedgerNumberSeriesId": "Sub ledger number series with id = {} not found.",
    **{f"Dim{i}{s}": f"Custom dimension {i} with {s.lower()} = {{}} not found."
       for i in (1, 2, 3) for s in ("Id", "Code")},
}


def unsupported_refs(values: dict[str, Any]) -> None:
    """404 for references to departments, projects, employees, ... (none exist here)."""
    for name, message in _UNMODELLED.items():
        if values.get(name) not in (None, ""):
            raise not_found(message.format(values[name]))


def check_contact_groups(state: PowerOfficeState, ids: list[int] | None) -> None:
    """Every id in ``ContactGroupIds`` must exist."""
    missing = [i for i in ids or [] if i not in state.table("contact_groups")]
    if missing:
        raise not_found("Could not find contact group(s) with id = " + ", ".join(map(str, missing)) + ".")
