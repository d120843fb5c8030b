"""DTO shapes as data: which PascalCase properties each resource shows, accepts and patches.

Records in the store are plain dicts keyed like the DTOs (native ``datetime``/``date`` values,
internal bookkeeping under ``_``-prefixed keys); :func:`render` projects one onto a DTO.
Every DTO in the vendor spec has ``additionalProperties: false``, so the lists must be exact.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandbox.poweroffice.problems import ApiError
from sandbox.poweroffice.timefmt import fmt_date, fmt_ts, parse_date, parse_ts

__all__ = ["ENUMS", "UNITS", "coerce", "field_type", "native", "render", "writable"]


def _f(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- enums (spec ``components/schemas``; serialised as strings) -------------------------
UNITS = _f("""BX MTR KMT KGM EA LTR HUR DAY MTK MTQ TNE MON ANN QAN NL XRO XBA XPL XPC PR XCI XBG SET
    XTY XOF FTK KWH MWH LBR CMT DMT LM XPK GRM HGM XFL XBE E54 MMT DAA H18 MLT HLT DLT AK XCR E14 MJ
    J57 XJG XCT XSA XTU WEE XCA XCN NAR M4 XVQ P1 MFU KMK LM3 FOT FM3 E34 E35""")
_DELIVERY = _f("PdfByEmail Print EHF AvtaleGiro External Efaktura Factoring")
_AGRI = _f("None Finance Farming Forestry FurAnimals OtherIndustries Private")
VOUCHER_TYPES = _f("""Unknown IncomingInvoice IncomingCreditNote OutgoingInvoice OutgoingCreditNote
    IncomingBankRemittance IncomingOcrGiro ManualJournal Expense CashJournal IncomingPayments
    OutgoingPayments YearEndJournal BankJournal VatReturns PayrollJournal OutgoingPaymentReminder
    OutgoingNoticeOfDebtCollection OutgoingPaymentDemand OutgoingWarrantOfExecution CorrectionVoucher
    ReversalVoucher DepreciationJournal TravelExpense Settlement NegativeSettlement
    SystemGeneratedDocumentationVoucher""")
ENUMS: dict[str, tuple[str, ...]] = {
    "InvoiceDeliveryType": _DELIVERY,
    "ReminderDeliveryType": ("PdfByEmail", "Print"),
    "NoticeOfDebtCollectionDeliveryType": ("PdfByEmail", "Print"),
    "ProductType": ("Product", "Service"),
    "UnitOfMeasureCode": UNITS,
    "SalesOrderStatus": ("Draft", "Confirmed"),
    "LineType": _f("Normal Text Summary InvoiceFee TotalHours"),
    "DeliveryType": ("PdfByEmail", "PdfPrintForDownload", "Auto"),
    "VatReturnSpecification": _f("""None Adjustment LossesOnClaims ReversalOfInputValueAddedTax Withdrawals
        AdjustmentVatCompensationRealProperty PurchasesEligibleForCompensation"""),
    "StandardSalesAccountAgricultureDepartment": _AGRI,
    "OptionalSalesAccountAgricultureDepartment": _AGRI,
}

# --- addresses ----------------------------------------------------------------------------
CONTACT_ADDRESS = _f("AddressLine1 AddressLine2 City CountryCode ExternalCode Id LastChangedDateTimeOffset ZipCode")
ADDRESS = _f("AddressLine1 AddressLine2 City CountryCode ZipCode")
ADDRESS_WRITABLE = _f("AddressLine1 AddressLine2 City CountryCode ExternalCode ZipCode")
ADDRESS_MAXLEN = {"AddressLine1": 200, "AddressLine2": 200, "ZipCode": 50, "City": 100, "ExternalCode": 50}

# --- response DTOs --------------------------------------------------------------------------
CUSTOMER = _f("""Allowance BillableRate ContactCreatedDateTimeOffset ContactGroupIds CreatedFromImportJournalId
    CurrencyCode CustomerCreatedDateTimeOffset CustomerSince DateOfBirth DeliveryTerm DeliveryTermId DepartmentCode
    DepartmentId DoNotAddLatePaymentFees DoNotAddLatePaymentInterest DoNotAutomatePaymentNotifications EmailAddress
    ExternalImportReference ExternalNumber FirstName Id InvoiceBrandingThemeCode InvoiceBrandingThemeId
    InvoiceDeliveryType InvoiceEmailAddress InvoiceEmailAddressCC IsActive IsArchived IsPerson IsVatFree
    LastChangedDateTimeOffset LastName LegalName MailAddress Name NationalIdNumber NoticeOfDebtCollectionDeliveryType
    Number OrganizationNumber PaymentReminderEmailAddress PaymentTerm PaymentTermId PhoneNumber ReminderDeliveryType
    SalesPersonEmployeeId SalesPersonEmployeeNumber SendPaymentReminders SubledgerAccountId
    TransferToDebtCollectionAgency UseInvoiceFee WebsiteUrl""")
SUPPLIER = _f("""ContactCreatedDateTimeOffset ContactGroupIds CreatedFromImportJournalId CurrencyCode DateOfBirth
    EmailAddress ExternalImportReference ExternalNumber FirstName Id IsActive IsArchived IsPerson
    LastChangedDateTimeOffset LastName LegalName MailAddress Name Number OrganizationNumber Payout PhoneNumber
    SubledgerAccountId SupplierCreatedDateTimeOffset WebsiteUrl""")
CONTACT_PERSON = _f("""ContactId CreatedDateTimeOffset EmailAddress ExternalCode FirstName Id IsActive IsDefault
    LastChangedDateTimeOffset LastName MailAddress PhoneNumber Title""")
PRODUCT = _f("""Code CreatedDateTimeOffset CreatedFromImportJournalId Description Gtin Id IsArchived IsStockItem
    LastChangedDateTimeOffset Name OptionalSalesAccount OptionalSalesAccountAgricultureDepartment OptionalSalesAccountId
    ProductGroupCode ProductGroupId ProductType StandardSalesAccount StandardSalesAccountAgricultureDepartment
    StandardSalesAccountId StockAvailable StockOnHand StockOnHandLastChangedDatetimeOffset UnitCost UnitOfMeasureCode
    UnitPrice""")
PRODUCT_GROUP = _f("""Code CreatedDateTimeOffset CreatedFromImportJournalId Description Id IsArchived
    LastChangedDateTimeOffset Name OptionalSalesAccount OptionalSalesAccountAgricultureDepartment OptionalSalesAccountId
    ProductType StandardSalesAccount StandardSalesAccountAgricultureDepartment StandardSalesAccountId UnitCost
    UnitOfMeasureCode UnitPrice""")
VAT_CODE = _f("BaseVatCodeId Code Description Id IsActive IsCustom Name Rate ValidFrom ValidTo VatBasisRatio "
              "VatBasisRatioValidFrom VatBasisRatios")
ACCOUNT = _f("""AccountNo AgricultureDepartment CurrencyCode DepartmentCode DepartmentId GeneralLedgerAccountType Id
    IsActive IsDepartmentRequired IsProjectRequired IsVatCodeLocked LastChangedDateTimeOffset Name Unit1 Unit2 VatCode
    VatCodeId VatReturnSpecification""")
PAYMENT_TERM = _f("CreatedDateTimeOffset CreditDays Id IsActive IsDefault LastChangedDateTimeOffset Name")
SALES_ORDER = _f("""BrandingThemeCode BrandingThemeId ContactDeliveryAddressId ContractNo CreatedDateTimeOffset
    CurrencyCode CurrencyExchangeRate CustomMatchingReference CustomerId CustomerNo CustomerReference
    CustomerReferenceContactPersonId DeliveryDate DeliveryTerm DeliveryTermId DepartmentCode DepartmentId Dim1Code
    Dim1Id Dim2Code Dim2Id Dim3Code Dim3Id ExternalImportReference Id ImportedOrderNo IsCreatedByCurrentIntegration
    LastChangedDateTimeOffset LineCount LocationCode LocationId NetAmount PaymentTerm PaymentTermId ProjectCode
    ProjectId PurchaseOrderReference RelatedInvoiceNo SalesOrderDate SalesOrderNo SalesOrderStatus
    SalesPersonEmployeeId SalesPersonEmployeeNumber TotalAmount""")
SALES_ORDER_LINE = _f("""Accrual Allowance DepartmentCode DepartmentId Description Dim1Code Dim1Id Dim2Code Dim2Id
    Dim3Code Dim3Id ExternalImportReference Id LineType LocationCode LocationId NetAmount ProductCode ProductId
    ProductUnitCost ProductUnitPrice ProjectCode ProjectId Quantity SalesOrderId SellersReferenceEmployeeId
    SellersReferenceEmployeeNo SortOrder TotalAmount UnitOfMeasureCode UseStandardSalesAccount VatAmount VatCode
    VatId VatRate VatReturnSpecification""")
OUTGOING_INVOICE = _f("""Balance BalanceLastChangedDateTimeOffset BrandingThemeCode BrandingThemeId Cid ContractNo
    CreatedDateTimeOffset CurrencyCode CurrencyExchangeRate CustomMatchingReference CustomerId CustomerNo
    CustomerReference CustomerReferenceContactPersonId DeliveryAddress1 DeliveryAddress2 DeliveryAddressCity
    DeliveryAddressCountryCode DeliveryAddressZipCode DeliveryDate DeliveryTerm DeliveryTermId DepartmentCode
    DepartmentId Dim1Code Dim1Id Dim2Code Dim2Id Dim3Code Dim3Id DueDate ExternalImportReference Id ImportedOrderNo
    InvoiceDeliveryType InvoiceNo IsCreatedByCurrentIntegration IsReversed LastChangedDateTimeOffset LocationCode
    LocationId MatchId NetAmount NetPostedAmount OrderDate OrderNo PaymentTerm PaymentTermId ProjectCode ProjectId
    PurchaseOrderReference RelatedInvoiceNo SellersReferenceEmployeeId SellersReferenceEmployeeNo SentDateTimeOffset
    TotalAmount TotalPostedAmount VoucherDate VoucherNo VoucherType""")
OUTGOING_INVOICE_LINE = _f("""AccountId AccountNo AgricultureDepartment Allowance DepartmentCode DepartmentId
    Description Dim1Code Dim1Id Dim2Code Dim2Id Dim3Code Dim3Id ExternalImportReference Id IsAccrued LineType
    LocationCode LocationId NetAmount NetPostedAmount ProductCode ProductId ProductUnitCost ProductUnitPrice ProjectCode
    ProjectId Quantity SellersReferenceEmployeeId SellersReferenceEmployeeNo SortOrder TotalAmount TotalPostedAmount
    UnitOfMeasureCode VatAmount VatCode VatId VatRate VatReturnSpecification""")
LEDGER_ENTRY = _f("""Amount Balance Cid CreatedDateTimeOffset CreatedFromImportJournalId CurrencyAmount CurrencyCode
    CustomMatchingReference CustomerAccountNo CustomerExternalNo CustomerId CustomerName DepartmentCode DepartmentId
    Dim1Code Dim1Id Dim2Code Dim2Id Dim3Code Dim3Id DueDate ExternalImportReference Id InvoiceNo
    IsCreatedByCurrentIntegration IsWriteOff LastChangedDateTimeOffset LocationCode LocationId MatchId
    PaidFromBankAccount PostingDate ProjectCode ProjectId VoucherDate VoucherId VoucherNo VoucherType""")
CUSTOMER_BALANCE = _f("Balance CustomerAccountNo CustomerExternalNo CustomerId CustomerName")
SENT_STATE = _f("DueDate Id InvoiceDeliveryType InvoiceNo IsInvoiceBeingProcessed LastErrorMessage SentDateTimeOffset")
SEND_REQUEST = _f("DeliveryType EmailAddress Id OverrideDueDate VoucherDate")

# --- request DTOs (POST bodies) -------------------------------------------------------------
CUSTOMER_POST = _f("""Allowance BillableRate ContactGroupIds CurrencyCode CustomerSince DateOfBirth DeliveryTerm
    DeliveryTermId DepartmentCode DepartmentId DoNotAddLatePaymentFees DoNotAddLatePaymentInterest
    DoNotAutomatePaymentNotifications EmailAddress ExternalImportReference ExternalNumber FirstName
    InvoiceBrandingThemeCode InvoiceBrandingThemeId InvoiceDeliveryType InvoiceEmailAddress InvoiceEmailAddressCC
    IsArchived IsPerson IsVatFree LastName LegalName MailAddress Name NationalIdNumber NoticeOfDebtCollectionDeliveryType
    Number OrganizationNumber PaymentReminderEmailAddress PaymentTerm PaymentTermId PhoneNumber ReminderDeliveryType
    SalesPersonEmployeeId SalesPersonEmployeeNumber SendPaymentReminders SubLedgerNumberSeriesId
    TransferToDebtCollectionAgency UseInvoiceFee WebsiteUrl""")
SUPPLIER_POST = _f("""ContactGroupIds CurrencyCode DateOfBirth EmailAddress ExternalImportReference ExternalNumber
    FirstName IsArchived IsPerson LastName LegalName MailAddress Name Number OrganizationNumber Payout PhoneNumber
    SubLedgerNumberSeriesId WebsiteUrl""")
CONTACT_PERSON_POST = _f("EmailAddress ExternalCode FirstName IsActive IsDefault LastName MailAddress PhoneNumber Title")
PRODUCT_POST = _f("""Code Description Gtin IsArchived IsStockItem Name OptionalSalesAccount
    OptionalSalesAccountAgricultureDepartment OptionalSalesAccountId ProductGroupCode ProductGroupId ProductType
    StandardSalesAccount StandardSalesAccountAgricultureDepartment StandardSalesAccountId StockOnHand UnitCost
    UnitOfMeasureCode UnitPrice""")
PRODUCT_GROUP_POST = _f("""Code Description IsArchived Name OptionalSalesAccount OptionalSalesAccountAgricultureDepartment
    OptionalSalesAccountId ProductType StandardSalesAccount StandardSalesAccountAgricultureDepartment
    StandardSalesAccountId UnitCost UnitOfMeasureCode UnitPrice""")
SALES_ORDER_POST = _f("""BrandingThemeCode BrandingThemeId ContactDeliveryAddressId ContractNo CurrencyCode
    CurrencyExchangeRate CustomMatchingReference CustomerId CustomerNo CustomerReference CustomerReferenceContactPersonId
    DeliveryDate DeliveryTerm DeliveryTermId DepartmentCode DepartmentId Dim1Code Dim1Id Dim2Code Dim2Id Dim3Code Dim3Id
    ExternalImportReference ImportedOrderNo LocationCode LocationId PaymentTerm PaymentTermId ProjectCode ProjectId
    PurchaseOrderReference RelatedInvoiceNo SalesOrderDate SalesOrderLines SalesOrderStatus SalesPersonEmployeeId
    SalesPersonEmployeeNumber""")
SALES_ORDER_LINE_POST = _f("""Accrual Allowance DepartmentCode DepartmentId Description Dim1Code Dim1Id Dim2Code
    Dim2Id Dim3Code Dim3Id ExternalImportReference LineType LocationCode LocationId ProductCode ProductId
    ProductUnitCost ProductUnitPrice ProjectCode ProjectId Quantity SellersReferenceEmployeeId
    SellersReferenceEmployeeNo SortOrder UnitOfMeasureCode UseStandardSalesAccount VatReturnSpecification""")
SEND_REQUEST_POST = _f("DeliveryType EmailAddress OverrideDueDate VoucherDate")

# --- *PatchDto (reference §2 / §3.7; the merged spec dropped these schemas) ---------------------
CUSTOMER_PATCH = frozenset(_f("""Allowance BillableRate ContactGroupIds CurrencyCode CustomerSince DateOfBirth
    DeliveryTermId DepartmentId DoNotAddLatePaymentFees DoNotAddLatePaymentInterest DoNotAutomatePaymentNotifications
    EmailAddress ExternalImportReference ExternalNumber FirstName InvoiceBrandingThemeId InvoiceDeliveryType
    InvoiceEmailAddress InvoiceEmailAddressCC IsArchived IsPerson IsVatFree LastName LegalName MailAddress Name
    NationalIdNumber NoticeOfDebtCollectionDeliveryType Number OrganizationNumber PaymentReminderEmailAddress
    PaymentTermId PhoneNumber ReminderDeliveryType SalesPersonEmployeeId SendPaymentReminders
    TransferToDebtCollectionAgency UseInvoiceFee WebsiteUrl"""))
SUPPLIER_PATCH = frozenset(SUPPLIER_POST) - {"SubLedgerNumberSeriesId"}
CONTACT_PERSON_PATCH = frozenset(CONTACT_PERSON_POST)
PRODUCT_PATCH = frozenset(_f("""Code Description Gtin IsArchived IsStockItem Name OptionalSalesAccountId ProductGroupId
    ProductType StandardSalesAccountId StockOnHand UnitCost UnitOfMeasureCode UnitPrice"""))
PRODUCT_GROUP_PATCH = frozenset(_f("""Code Description IsArchived Name OptionalSalesAccountId ProductType
    StandardSalesAccountId UnitCost UnitOfMeasureCode UnitPrice"""))
SALES_ORDER_PATCH = frozenset(_f("""BrandingThemeId ContactDeliveryAddressId ContractNo CurrencyCode CurrencyExchangeRate
    CustomMatchingReference CustomerId CustomerReference CustomerReferenceContactPersonId DeliveryDate DeliveryTermId
    DepartmentId Dim1Id Dim2Id Dim3Id ExternalImportReference ImportedOrderNo LocationId PaymentTermId ProjectId
    PurchaseOrderReference RelatedInvoiceNo SalesOrderDate SalesOrderStatus SalesPersonEmployeeId"""))
SALES_ORDER_LINE_PATCH = frozenset(_f("""Allowance DepartmentId Description Dim1Id Dim2Id Dim3Id ExternalImportReference
    LineType LocationId ProductId ProductUnitCost ProductUnitPrice ProjectId Quantity SellersReferenceEmployeeId
    SortOrder UnitOfMeasureCode UseStandardSalesAccount VatReturnSpecification"""))

# --- value types, by naming convention with explicit exceptions --------------------------------
_UUIDS = {"CreatedFromImportJournalId", "SubLedgerNumberSeriesId", "SalesOrderId"}
_INTS = set(_f("""Number ExternalNumber CustomerNo ImportedOrderNo RelatedInvoiceNo SortOrder PaymentTerm CreditDays
    SalesPersonEmployeeNumber SellersReferenceEmployeeNo StandardSalesAccount OptionalSalesAccount AccountNo"""))
_NUMBERS = set(_f("""Allowance BillableRate UnitPrice UnitCost StockOnHand Quantity ProductUnitPrice ProductUnitCost
    CurrencyExchangeRate"""))
_DATES = set(_f("DateOfBirth CustomerSince SalesOrderDate DeliveryDate VoucherDate OverrideDueDate"))


def field_type(name: str) -> str:
    """Classify a writable property: int, number, bool, date, uuid, enum, intlist, address, object or str."""
    if name in ENUMS:
        return "enum"
    if name in _UUIDS:
        return "uuid"
    if name in _INTS or name.endswith("Id"):
        return "int"
    if name in _NUMBERS:
        return "number"
    if name in _DATES:
        return "date"
    if name == "ContactGroupIds":
        return "intlist"
    if name == "MailAddress":
        return "address"
    if name in {"Accrual", "SalesOrderLines"}:
        return "object"
    if name == "Payout" or name.startswith(("Is", "DoNot", "Use", "Send", "Transfer")):
        return "bool"
    return "str"


def coerce(name: str, value: Any, title: str) -> Any:
    """Check and convert one incoming property value; ``None`` always passes (all are nullable).

    Raises:
        ApiError: 400 with ``title`` when the value has the wrong type or enum member.
    """
    if value is None:
        return None
    kind = field_type(name)

    def bad(expected: str) -> ApiError:
        return ApiError(400, title, f"The value {value!r} is not valid for {name}: expected {expected}.")

    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise bad("an integer")
        try:
            return int(value)
        except ValueError:
            raise bad("an integer") from None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if kind == "bool":
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "date":
        try:
            return parse_date(value) if isinstance(value, str) else _no(value)
        except ValueError:
            raise bad("a date (yyyy-MM-dd)") from None
    if kind == "enum":
        members = {m.lower(): m for m in ENUMS[name]}
        if not isinstance(value, str) or value.lower() not in members:
            raise bad("one of " + ", ".join(ENUMS[name][:8]) + ("…" if len(ENUMS[name]) > 8 else ""))
        return members[value.lower()]
    if kind == "intlist":
        if not isinstance(value, list):
            raise bad("an array of integers")
        return [coerce("Id", v, title) for v in value]
    if kind == "address":
        if not isinstance(value, dict):
            raise bad("an address object")
        out = {}
        for key, val in value.items():
            canon = next((k for k in ADDRESS_WRITABLE if k.lower() == str(key).lower()), None)
            if canon is None:
                raise ApiError(400, title, f"Unknown property '{key}' in {name}.")
            if val is not None and not isinstance(val, str):
                raise ApiError(400, title, f"{name}.{canon} must be a string.")
            out[canon] = val
        return out
    if kind == "object":
        return value
    if not isinstance(value, str):
        raise bad("a string")
    return value


def _no(value: Any) -> Any:
    raise ValueError(value)


def writable(body: Any, allowed: tuple[str, ...], title: str) -> dict[str, Any]:
    """Validate a POST body against a ``*PostDto`` property list (case-insensitive names).

    Raises:
        ApiError: 400 for a non-object body or an unknown property (the DTOs forbid extras).
    """
    if not isinstance(body, dict):
        raise ApiError(400, title, "The request body must be a JSON object.")
    lookup = {name.lower(): name for name in allowed}
    out: dict[str, Any] = {}
    for key, value in body.items():
        canon = lookup.get(str(key).lower())
        if canon is None:
            raise ApiError(400, title, f"Unknown or read-only property '{key}'.")
        out[canon] = value if canon == "SalesOrderLines" else coerce(canon, value, title)
    return out


# Enum-typed properties: the spec marks the enums nullable but lists no null member, so a null
# would not validate; like the non-nullable objects, they are omitted when unset.
_OMIT_WHEN_NULL = frozenset(ENUMS) | {"MailAddress", "Accrual", "AgricultureDepartment", "Unit1", "Unit2",
                                      "VoucherType", "GeneralLedgerAccountType"}


def native(fields: dict[str, Any]) -> dict[str, Any]:
    """Turn ISO strings into ``datetime``/``date`` for trusted inserts (seeders, tests); in place."""
    for name, value in fields.items():
        if isinstance(value, str) and name.endswith(("DateTimeOffset", "DatetimeOffset")):
            fields[name] = parse_ts(value)
        elif isinstance(value, str) and field_type(name) == "date":
            fields[name] = parse_date(value)
    return fields


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return fmt_ts(value)
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def render(fields: tuple[str, ...], record: dict[str, Any],
           address: tuple[str, ...] = CONTACT_ADDRESS) -> dict[str, Any]:
    """Project a stored record onto a DTO's exact property list (JSON-ready values).

    Unset non-nullable objects (``MailAddress``, ``Accrual``) and enum properties are omitted.
    """
    out: dict[str, Any] = {}
    for name in fields:
        value = record.get(name)
        if value is None and name in _OMIT_WHEN_NULL:
            continue
        if name in {"MailAddress", "Accrual"}:
            if name == "MailAddress":
                value = {k: value.get(k) for k in address}
            out[name] = {k: _plain(v) for k, v in value.items()}
            continue
        out[name] = _plain(value)
    return out
