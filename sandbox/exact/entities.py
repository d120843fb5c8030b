"""The entity sets the simulator serves: paths, keys, fields with their Edm types, methods.

Field names come from the references' Appendix A (picqer's docblocks, generated from Exact's
reference), trimmed to what flows need. A field is written ``Name:t`` with t one of g (Guid),
s (String), i (Int32/16), l (Int64), f (Double), b (Boolean), y (Byte), d (DateTime), x (Binary),
n (navigation); a trailing ``*`` marks it read-only (ignored on POST/PUT).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SPECS", "EntitySpec", "find_spec"]

EDM = {"g": "Edm.Guid", "s": "Edm.String", "i": "Edm.Int32", "l": "Edm.Int64", "f": "Edm.Double",
       "b": "Edm.Boolean", "y": "Edm.Byte", "d": "Edm.DateTime", "x": "Edm.Binary"}


@dataclass(frozen=True)
class EntitySpec:
    path: str                      # as the URL names it, e.g. "crm/Accounts"
    type_name: str                 # __metadata.type
    key: str
    fields: dict[str, str]         # name -> type letter
    readonly: frozenset[str]
    methods: str = "G"             # G, P(OST), U (PUT), D(ELETE)
    table: str = ""                # the stored table it reads (bulk/sync share their twin's)
    kind: str = "standard"         # standard | bulk | sync | read | virtual
    mandatory: tuple[str, ...] = ()  # mandatory $filter fields (empty: none)
    navs: dict[str, tuple[str, str]] = field(default_factory=dict)  # nav -> (target path, foreign key)
    deleted_type: int | None = None  # sync/Deleted EntityType
    topic: str | None = None       # webhook topic

    @property
    def page_kind(self) -> str:
        return "bulk" if self.kind in {"bulk", "sync"} else "standard"


def _fields(text: str) -> tuple[dict[str, str], frozenset[str]]:
    out, ro = {}, set()
    for part in text.split():
        name, typ = part.split(":")
        if typ.endswith("*"):
            typ = typ[:-1]
            ro.add(name)
        out[name] = typ
    return out, frozenset(ro)


_AUDIT = "Created:d* Creator:g* CreatorFullName:s* Modified:d* Modifier:g* ModifierFullName:s* Division:i*"

ACCOUNT = _fields(
    "ID:g Accountant:g AccountManager:g AccountManagerFullName:s* AddressLine1:s AddressLine2:s AddressLine3:s "
    "Blocked:b ChamberOfCommerce:s City:s Code:s Country:s CountryName:s* Email:s EndDate:d GLAccountSales:g "
    "InvoiceAccount:g IsSales:b* IsSupplier:b Language:s MainContact:g Name:s Parent:g PaymentConditionPurchase:s "
    "PaymentConditionSales:s Phone:s Postcode:s PriceList:g PurchaseVATCode:s Remarks:s SalesCurrency:s "
    "SalesVATCode:s SearchCode:s StartDate:d State:s Status:s TradeName:s Type:s* VATNumber:s Website:s " + _AUDIT)
CONTACT = _fields(
    "ID:g Account:g AccountIsCustomer:b* AccountIsSupplier:b* AccountMainContact:g* AccountName:s "
    "AddressStreet:s* AddressStreetNumber:s* AddressStreetNumberSuffix:s* BirthDate:d BusinessEmail:s "
    "BusinessMobile:s BusinessPhone:s City:s* Code:s* Country:s* Email:s EndDate:d FirstName:s FullName:s* "
    "Gender:s Initials:s IsMainContact:b* JobTitleDescription:s Language:s LastName:s MiddleName:s Mobile:s "
    "Notes:s Phone:s Postcode:s* StartDate:d Title:s " + _AUDIT)
ITEM = _fields(
    "ID:g AverageCost:f Barcode:s Code:s CostPriceCurrency:s CostPriceNew:f CostPriceStandard:f Description:s "
    "EndDate:d ExtraDescription:s GLCosts:g GLRevenue:g GLRevenueCode:s* GLStock:g GrossWeight:f IsPurchaseItem:b "
    "IsSalesItem:b IsStockItem:b IsWebshopItem:y ItemGroup:g ItemGroupCode:s* ItemGroupDescription:s* NetWeight:f "
    "Notes:s PictureUrl:s* SalesVatCode:s SalesVatCodeDescription:s* SearchCode:s StandardSalesPrice:f StartDate:d "
    "Stock:f* Unit:s UnitDescription:s* UnitType:s* " + _AUDIT)
ITEM_GROUP = _fields("ID:g Code:s Description:s GLCosts:g GLRevenue:g GLRevenueCode:s* GLStock:g IsDefault:y "
                     "Notes:s " + _AUDIT)
UNIT = _fields("ID:g Active:b Code:s Description:s Division:i* Main:y TimeUnit:s Type:s")
VAT_CODE = _fields("ID:g Account:g Charged:b Code:s Description:s GLToClaim:g GLToPay:g IsBlocked:b LegalText:s "
                   "Percentage:f* Type:s VATTransactionType:s " + _AUDIT)
GL_ACCOUNT = _fields("ID:g BalanceSide:s BalanceType:s Code:s Description:s IsBlocked:b Type:i TypeDescription:s* "
                     "VATCode:s VATDescription:s* " + _AUDIT)
JOURNAL = _fields("ID:g AllowVariableCurrency:b AllowVAT:b Code:s Currency:s Description:s GLAccount:g "
                  "GLAccountCode:s* IsBlocked:b Type:i " + _AUDIT)
SALES_ENTRY = _fields(
    "EntryID:g AmountDC:f* AmountFC:f* BatchNumber:i Currency:s Customer:g CustomerName:s* Description:s "
    "Document:g DocumentNumber:i* DocumentSubject:s* DueDate:d EntryDate:d EntryNumber:i ExternalLinkDescription:s* "
    "ExternalLinkReference:s InvoiceNumber:i Journal:s JournalDescription:s* OrderNumber:i PaymentCondition:s "
    "PaymentConditionDescription:s* PaymentReference:s Rate:f ReportingPeriod:i ReportingYear:i Reversal:b "
    "SalesEntryLines:n Status:i* StatusDescription:s* Type:i* TypeDescription:s* VATAmountDC:f* VATAmountFC:f "
    "YourRef:s " + _AUDIT)
SALES_ENTRY_LINE = _fields(
    "ID:g AmountDC:f* AmountFC:f CostCenter:s CostUnit:s Description:s Division:i* EntryID:g From:d GLAccount:g "
    "GLAccountCode:s* GLAccountDescription:s* LineNumber:i* Notes:s Project:g Quantity:f To:d Type:i* "
    "VATAmountDC:f* VATAmountFC:f VATBaseAmountDC:f VATBaseAmountFC:f VATCode:s VATCodeDescription:s* "
    "VATPercentage:f")
DOCUMENT = _fields(
    "ID:g Account:g AccountCode:s* AccountName:s* AmountFC:f Body:s Category:g CategoryDescription:s Contact:g "
    "Currency:s DocumentDate:d DocumentFolder:g DocumentViewUrl:s* FinancialTransactionEntryID:g HasEmptyBody:b* "
    "HID:i Language:s SalesInvoiceNumber:i SalesOrderNumber:i Subject:s Type:i TypeDescription:s* " + _AUDIT)
ATTACHMENT = _fields("ID:g Attachment:x Division:i* Document:g FileName:s FileSize:f* Url:s*")
RECEIVABLE = _fields(
    "ID:g Account:g* AccountCode:s* AccountName:s* AmountDC:f* AmountFC:f* Currency:s* Description:s DueDate:d* "
    "EndDate:d* EntryDate:d* EntryID:g* EntryNumber:i* InvoiceDate:d* InvoiceNumber:i* IsFullyPaid:b* Journal:s* "
    "JournalDescription:s* LastPaymentDate:d* PaymentMethod:s PaymentReference:s Status:i* TransactionAmountDC:f* "
    "TransactionAmountFC:f* TransactionEntryID:g* TransactionID:g* TransactionIsReversal:b* YourRef:s* " + _AUDIT)
FIN_ENTRY = _fields(  # BankEntries / CashEntries (Exact's reference; lines by deep insert)
    "EntryID:g ClosingBalanceFC:f Currency:s* EntryNumber:i* FinancialPeriod:i FinancialYear:i Journal:s "
    "JournalDescription:s* OpeningBalanceFC:f Status:i* StatusDescription:s* BankEntryLines:n CashEntryLines:n "
    + _AUDIT)
FIN_ENTRY_LINE = _fields(
    "ID:g Account:g AmountDC:f* AmountFC:f Date:d Description:s EntryID:g GLAccount:g Notes:s OurRef:i "
    "LineNumber:i* " + _AUDIT)
RECEIVABLES_LIST = _fields(
    "HID:l AccountCode:s AccountId:g AccountName:s Amount:f AmountInTransit:f CurrencyCode:s Description:s "
    "DueDate:d EntryNumber:i InvoiceDate:d InvoiceNumber:i JournalCode:s JournalDescription:s YourRef:s")
WEBHOOK = _fields("ID:g CallbackURL:s ClientID:g* Created:d* Creator:g* CreatorFullName:s* Description:s* "
                  "Division:i* IsInstant:b Topic:s UserID:g*")
DIVISION = _fields(
    "Code:i AddressLine1:s BlockingStatus:i City:s Country:s Currency:s Current:b Customer:g CustomerCode:s "
    "CustomerName:s Description:s Hid:l IsMainDivision:b Legislation:s Postcode:s StartDate:d Status:i VATNumber:s "
    "Created:d Modified:d")
DELETED = _fields("Timestamp:l DeletedBy:g DeletedDate:d Division:i EntityKey:g EntityType:i ID:g")

# The mandatory-filter field lists (picqer#591 quotes Accounts' in full; this is a subset). [INFER]
_ACCOUNT_FILTERS = ("Accountant", "AccountManager", "AddressLine1", "Blocked", "ChamberOfCommerce", "City", "Code",
                    "Country", "Created", "Email", "ID", "IsSupplier", "Modified", "Name", "Postcode", "SearchCode",
                    "Status", "Type", "VATNumber")
_ITEM_FILTERS = ("Barcode", "Code", "Created", "Description", "EndDate", "ID", "IsSalesItem", "IsStockItem",
                 "ItemGroup", "Modified", "SearchCode", "StartDate")


def _spec(path: str, model: str, key: str, shape: tuple[dict[str, str], frozenset[str]], **kw) -> EntitySpec:
    return EntitySpec(path, f"Exact.Web.Api.Models.{model}", key, shape[0], shape[1], table=kw.pop("table", path), **kw)


def _twins(base: EntitySpec, bulk: str, sync: str) -> list[EntitySpec]:
    sync_fields = {"Timestamp": "l", **{k: v for k, v in base.fields.items() if v != "n"}}
    return [EntitySpec(bulk, base.type_name, base.key, base.fields, base.readonly, "G", base.table, "bulk",
                       base.mandatory),
            EntitySpec(sync, base.type_name, "Timestamp", sync_fields, base.readonly, "G", base.table, "sync")]


_BASE = [
    _spec("crm/Accounts", "Account", "ID", ACCOUNT, methods="GPUD", mandatory=_ACCOUNT_FILTERS, deleted_type=2,
          topic="Accounts"),
    _spec("crm/Contacts", "Contact", "ID", CONTACT, methods="GPUD", deleted_type=5),
    _spec("logistics/Items", "Item", "ID", ITEM, methods="GPUD", mandatory=_ITEM_FILTERS, deleted_type=9,
          topic="Items"),
    _spec("logistics/ItemGroups", "ItemGroup", "ID", ITEM_GROUP),
    _spec("logistics/Units", "Unit", "ID", UNIT),
    _spec("vat/VATCodes", "VATCode", "ID", VAT_CODE, methods="GPUD"),
    _spec("financial/GLAccounts", "GLAccount", "ID", GL_ACCOUNT, methods="GPUD", deleted_type=7),
    _spec("financial/Journals", "Journal", "ID", JOURNAL, methods="GPUD"),
    _spec("salesentry/SalesEntries", "SalesEntry", "EntryID", SALES_ENTRY, methods="GPUD",
          navs={"SalesEntryLines": ("salesentry/SalesEntryLines", "EntryID")}, topic="SalesEntries"),
    _spec("salesentry/SalesEntryLines", "SalesEntryLine", "ID", SALES_ENTRY_LINE, methods="GPUD"),
    _spec("documents/Documents", "Document", "ID", DOCUMENT, methods="GPUD", deleted_type=6),
    _spec("documents/DocumentAttachments", "DocumentAttachment", "ID", ATTACHMENT, methods="GPD", deleted_type=4),
    _spec("cashflow/Receivables", "Receivable", "ID", RECEIVABLE, methods="GU"),
    _spec("financialtransaction/BankEntries", "BankEntry", "EntryID", FIN_ENTRY, methods="GP",
          navs={"BankEntryLines": ("financialtransaction/BankEntryLines", "EntryID")}),
    _spec("financialtransaction/BankEntryLines", "BankEntryLine", "ID", FIN_ENTRY_LINE, methods="GP"),
    _spec("financialtransaction/CashEntries", "CashEntry", "EntryID", FIN_ENTRY, methods="GP",
          navs={"CashEntryLines": ("financialtransaction/CashEntryLines", "EntryID")}),
    _spec("financialtransaction/CashEntryLines", "CashEntryLine", "ID", FIN_ENTRY_LINE, methods="GP"),
    _spec("read/financial/ReceivablesList", "ReceivablesList", "HID", RECEIVABLES_LIST, kind="read"),
    _spec("webhooks/WebhookSubscriptions", "WebhookSubscription", "ID", WEBHOOK, methods="GPD", kind="virtual"),
    _spec("system/Divisions", "System.Division", "Code", DIVISION, kind="virtual"),
    _spec("hrm/Divisions", "HRM.Division", "Code", DIVISION, kind="virtual"),
    _spec("system/AllDivisions", "System.AllDivision", "Code", DIVISION, kind="virtual"),
    _spec("sync/Deleted", "Sync.Deleted", "Timestamp", DELETED, kind="sync"),
]
_BY_PATH = {s.path: s for s in _BASE}
SPECS: dict[str, EntitySpec] = {s.path.lower(): s for s in _BASE}
for _base, _bulk, _sync in (("crm/Accounts", "bulk/CRM/Accounts", "sync/CRM/Accounts"),
                            ("crm/Contacts", "bulk/CRM/Contacts", "sync/CRM/Contacts"),
                            ("logistics/Items", "bulk/Logistics/Items", "sync/Logistics/Items")):
    for _twin in _twins(_BY_PATH[_base], _bulk, _sync):
        SPECS[_twin.path.lower()] = _twin


def find_spec(path: str) -> EntitySpec | None:
    """The spec for a resource path, matched case-insensitively (clients write CRM/crm alike)."""
    return SPECS.get(path.strip("/").lower())
