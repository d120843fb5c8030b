"""The simulator's state: data store, credentials, tokens, rate limiter, counters, traffic log.

One ``threading.RLock`` guards everything: uvicorn serves requests on its event loop while
tests and seeders call the Python API from other threads.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sandbox.common import Clock, FaultConfig, SlidingWindowLimiter
from sandbox.poweroffice import dto

__all__ = ["KINDS", "PowerOfficeState"]

# kind -> (DTO property list, address shape) used by render()
_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customers": (dto.CUSTOMER, dto.CONTACT_ADDRESS),
    "suppliers": (dto.SUPPLIER, dto.CONTACT_ADDRESS),
    "contact_persons": (dto.CONTACT_PERSON, dto.ADDRESS),
    "products": (dto.PRODUCT, ()),
    "product_groups": (dto.PRODUCT_GROUP, ()),
    "vat_codes": (dto.VAT_CODE, ()),
    "accounts": (dto.ACCOUNT, ()),
    "payment_terms": (dto.PAYMENT_TERM, ()),
    "contact_groups": (("Id", "Name"), ()),
    "sales_orders": (dto.SALES_ORDER, ()),
    "sales_order_lines": (dto.SALES_ORDER_LINE, ()),
    "outgoing_invoices": (dto.OUTGOING_INVOICE, ()),
    "outgoing_invoice_lines": (dto.OUTGOING_INVOICE_LINE, ()),
    "ledger_entries": (dto.LEDGER_ENTRY, ()),
    "sent_states": (dto.SENT_STATE, ()),
}
KINDS = tuple(_SHAPES)
_ALIASES = {k.replace("_", ""): k for k in KINDS} | {
    "customer": "customers", "supplier": "suppliers", "contactperson": "contact_persons",
    "product": "products", "productgroup": "product_groups", "vatcode": "vat_codes",
    "generalledgeraccounts": "accounts", "account": "accounts", "paymentterm": "payment_terms",
    "salesorder": "sales_orders", "salesorderline": "sales_order_lines", "invoices": "outgoing_invoices",
    "outgoinginvoice": "outgoing_invoices", "invoicelines": "outgoing_invoice_lines",
    "ledger": "ledger_entries", "customerledger": "ledger_entries",
}
# Starting points of the id and number series (contacts share one id space).
_SEQ_START = {"contact": 5_000_000, "contact_persons": 7_000_000, "products": 3_000_000,
              "product_groups": 300, "vat_codes": 0, "accounts": 9_000_000, "payment_terms": 0,
              "contact_groups": 0, "address": 8_000_000, "ledger_entries": 60_000_000,
              "outgoing_invoice_lines": 70_000_000, "match": 40_000, "voucher": 100_000,
              "invoice_no": 1000, "sales_order_no": 0}


class PowerOfficeState:
    """Everything one simulated PowerOffice Go client holds.

    Args:
        clock: Time source for tokens and ``*DateTimeOffset`` stamps (tests advance it).
        app_key: Application key (OAuth client id).
        client_key: Client key (OAuth client secret).
        subscription_key: The APIM ``Ocp-Apim-Subscription-Key``.
        token_ttl_s: Access-token lifetime (v2: 20 minutes, no refresh token).
        rate_limit: Requests per window per subscription key; 0 disables.
        rate_window_s: Window length in seconds.
    """

    def __init__(self, *, clock: Clock | None = None, app_key: str = "po-app-key",
                 client_key: str = "po-client-key", subscription_key: str = "po-subscription-key",
                 token_ttl_s: int = 1200, rate_limit: int = 10, rate_window_s: float = 1.0) -> None:
        self.clock = clock or Clock()
        self.app_key = app_key
        self.client_key = client_key
        self.subscription_key = subscription_key
        self.token_ttl_s = token_ttl_s
        self.faults = FaultConfig()
        # One valid subscription key, so one limiter is "per subscription key".
        self.limiter = SlidingWindowLimiter(rate_limit, rate_window_s)
        self.lock = threading.RLock()
        self.client_id = "2a1c5e3d-7b4f-4c1e-9a0d-5f6b7c8d9e01"
        self.client_name = "Tribe Sync Demo AS"
        self.allow_send_invoice = True   # False: createAndSendInvoice answers "Missing privilege"
        self.validate_orgnr = True       # reject Norwegian org numbers failing the mod-11 check
        # False: a second sales order with a used ExternalImportReference is accepted, as some
        # tenants' integrations behave — then only the client's own lookup prevents a double post.
        self.unique_import_reference = True
        self.record_traffic = False
        self.traffic: list[dict[str, Any]] = []
        self._seed_args: dict[str, Any] | None = None
        self._clear()

    # --- store ----------------------------------------------------------------------------
    def _clear(self) -> None:
        from sandbox.poweroffice import refdata
        with self.lock:
            self._tables: dict[str, dict[Any, dict[str, Any]]] = {k: {} for k in KINDS}
            self._seq = dict(_SEQ_START)
            self.tokens: dict[str, datetime] = {}
            self.reset_counters()
            refdata.install(self)

    def now(self) -> datetime:
        """The clock's current (strictly increasing) time."""
        return self.clock.now()

    def today(self) -> date:
        """The clock's current date (UTC)."""
        return self.clock.now().date()

    def next_id(self, series: str) -> int:
        """Next number in an id or number series."""
        with self.lock:
            self._seq[series] = self._seq.get(series, 0) + 1
            return self._seq[series]

    def bump_series(self, series: str, at_least: int) -> None:
        """Make sure the series continues after ``at_least`` (explicit ids from seeders)."""
        with self.lock:
            self._seq[series] = max(self._seq.get(series, 0), at_least)

    @staticmethod
    def kind(name: str) -> str:
        """Canonical table name for ``name`` ("Customers", "customer", "invoices", ...)."""
        key = name.lower().replace("_", "").replace("-", "")
        if key in _ALIASES:
            return _ALIASES[key]
        raise KeyError(f"unknown kind {name!r}; known: {', '.join(KINDS)}")

    def table(self, kind: str) -> dict[Any, dict[str, Any]]:
        """The raw table (records are live: hold ``lock`` while using them)."""
        return self._tables[self.kind(kind)]

    def render(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """A record as its v2 DTO (JSON-ready)."""
        fields, address = _SHAPES[self.kind(kind)]
        return dto.render(fields, record, address or dto.CONTACT_ADDRESS)

    def get(self, kind: str, key: Any) -> dict[str, Any] | None:
        """One record as a DTO, or None. Uuid keys may be given as ``str`` or ``UUID``."""
        with self.lock:
            record = self.table(kind).get(_key(key))
            return self.render(kind, record) if record is not None else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of a kind as DTOs, in insertion order."""
        with self.lock:
            return [self.render(kind, r) for r in self.table(kind).values()]

    def insert(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Trusted insert (no API validation): fills defaults, ids, numbers and timestamps.

        Returns:
            The stored record rendered as its DTO.
        """
        from sandbox.poweroffice import catalog, contacts, sales
        kind = self.kind(kind)
        inserters = {"customers": contacts.insert_contact, "suppliers": contacts.insert_contact,
                     "contact_persons": contacts.insert_person, "products": catalog.insert_product,
                     "product_groups": catalog.insert_group, "sales_orders": sales.insert_order}
        if kind not in inserters:
            raise KeyError(f"insert() does not support {kind!r}")
        with self.lock:
            record = inserters[kind](self, kind, dict(fields))
            return self.render(kind, record)

    def insert_customer(self, **fields: Any) -> dict[str, Any]:
        """Insert a customer (``Id=`` of an existing supplier shares the contact)."""
        return self.insert("customers", fields)

    def insert_supplier(self, **fields: Any) -> dict[str, Any]:
        """Insert a supplier (``Id=`` of an existing customer shares the contact)."""
        return self.insert("suppliers", fields)

    def insert_contact_person(self, contact_id: int, **fields: Any) -> dict[str, Any]:
        """Insert a contact person on a customer or supplier."""
        return self.insert("contact_persons", {**fields, "ContactId": contact_id})

    def insert_product(self, **fields: Any) -> dict[str, Any]:
        """Insert a product."""
        return self.insert("products", fields)

    def insert_product_group(self, **fields: Any) -> dict[str, Any]:
        """Insert a product group."""
        return self.insert("product_groups", fields)

    def insert_sales_order(self, **fields: Any) -> dict[str, Any]:
        """Insert a sales order; ``SalesOrderLines`` may hold line dicts. Returns the Complete DTO."""
        from sandbox.poweroffice import sales
        with self.lock:
            order = self.insert("sales_orders", fields)
            return sales.complete_view(self, self.table("sales_orders")[order["Id"]])

    def account_by_no(self, number: int) -> dict[str, Any]:
        """Raw GL account record by account number (KeyError when missing)."""
        with self.lock:
            for record in self._tables["accounts"].values():
                if record["AccountNo"] == number:
                    return record
        raise KeyError(number)

    # --- domain shortcuts -----------------------------------------------------------------
    def send_invoice(self, order_id: Any, **request: Any) -> dict[str, Any]:
        """Turn a sales order into an outgoing invoice (same Id); returns the invoice DTO."""
        from sandbox.poweroffice import sales
        with self.lock:
            return self.render("outgoing_invoices", sales.send_order(self, str(_key(order_id)), request))

    def create_invoice(self, customer_id: int, lines: list[dict[str, Any]], *,
                       voucher_date: date | None = None, by_current_integration: bool = False,
                       **header: Any) -> dict[str, Any]:
        """Create and send a sales order in one go (seeders); returns the invoice DTO."""
        from sandbox.poweroffice import sales
        with self.lock:
            order = sales.insert_order(self, "sales_orders", {
                **header, "CustomerId": customer_id, "SalesOrderLines": lines,
                "IsCreatedByCurrentIntegration": by_current_integration})
            request = {"VoucherDate": voucher_date} if voucher_date else {}
            return self.render("outgoing_invoices", sales.send_order(self, str(order["Id"]), request))

    def register_payment(self, invoice_id: Any, amount: float, *,
                         payment_date: date | None = None) -> dict[str, Any]:
        """Register a customer payment against an outgoing invoice (matched via MatchId).

        Returns:
            ``{"invoice": OutgoingInvoiceDto, "payment": CustomerLedgerEntryDto}``.

        Raises:
            KeyError: Unknown invoice. ValueError: Bad amount.
        """
        from sandbox.poweroffice import ledger
        with self.lock:
            invoice, entry = ledger.register_payment(self, str(_key(invoice_id)), amount, payment_date)
            return {"invoice": self.render("outgoing_invoices", invoice),
                    "payment": self.render("ledger_entries", entry)}

    # --- tokens -----------------------------------------------------------------------------
    def issue_token(self) -> str:
        """Mint a JWT-shaped bearer token valid for ``token_ttl_s`` on the state's clock."""
        now = self.clock.now()
        claims = {"goClientId": self.client_id, "goClientName": self.client_name,
                  "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
                  "exp": int(now.timestamp()) + self.token_ttl_s, "jti": secrets.token_hex(8),
                  "role": ["Customer_Full", "Supplier_Full", "ContactPerson_Full", "Product_Full",
                           "SalesOrders_Full", "OutgoingInvoice", "CustomerLedger", "GeneralLedgerAccount",
                           "CommonServices"]}
        parts = [{"alg": "HS256", "typ": "JWT"}, claims]
        token = ".".join(_b64(json.dumps(p).encode()) for p in parts) + "." + _b64(secrets.token_bytes(32))
        with self.lock:
            self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
            self.tokens[token] = now + timedelta(seconds=self.token_ttl_s)
            self._counts["tokens_issued"] += 1
        return token

    def token_status(self, token: str) -> str:
        """``"ok"``, ``"expired"`` or ``"invalid"``."""
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None:
            return "invalid"
        return "ok" if self.clock.now() < expires else "expired"

    # --- counters / control -------------------------------------------------------------------
    def count(self, what: str, method: str | None = None, resource: str | None = None) -> None:
        """Bump a counter: ``"call"`` (with method/resource), ``"rate_limited"``, ``"unauthorized"``."""
        with self.lock:
            self._counts[what] += 1
            if what == "call":
                self._calls[f"{method} {resource}"] += 1

    def counters(self) -> dict[str, Any]:
        """API call counts by ``"METHOD Resource"``, total, 429s, 401s, tokens, injected faults."""
        with self.lock:
            return {"total": self._counts["call"], "calls": dict(self._calls),
                    "rate_limited": self._counts["rate_limited"] + self.faults.injected.get("too_many_requests", 0),
                    "unauthorized": self._counts["unauthorized"], "tokens_issued": self._counts["tokens_issued"],
                    "faults_injected": dict(self.faults.injected)}

    def reset_counters(self) -> None:
        """Zero all counters."""
        with self.lock:
            self._counts: Counter[str] = Counter()
            self._calls: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        """Record counts per kind."""
        with self.lock:
            return {kind: len(rows) for kind, rows in self._tables.items()}

    def forget_seed(self) -> None:
        """From now on ``reset()`` goes back to reference data only (a test that seeded the demo
        data must not leave it to the next test's reset)."""
        with self.lock:
            self._seed_args = None

    def reset(self) -> None:
        """Back to the initial state: reference data only, or re-seeded if ``seed()`` was used."""
        with self.lock:
            self.faults.clear()
            self.limiter.reset()
            self.traffic.clear()
            self._clear()
            if self._seed_args is not None:
                from sandbox.poweroffice.seed import seed
                seed(self, **self._seed_args)


def _key(key: Any) -> Any:
    if isinstance(key, uuid.UUID):
        return str(key)
    if isinstance(key, str):
        try:
            return str(uuid.UUID(key))
        except ValueError:
            return int(key) if key.isdigit() else key
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
