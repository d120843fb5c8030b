"""Exact Online's invoice adapter (``protocols.InvoiceTarget``): a Tribe invoice is a **sales
entry** (``salesentry/SalesEntries`` with its lines, one deep insert) in the division's sales
journal — booked the moment it is created: Exact has no draft or posting step for an entry.

What the mapping (``include/mappings/exact/invoices.yaml``) gives is sent as it is: the
customer's account id, the journal's code, Tribe's number as ``EntryNumber`` and ``YourRef``,
per line the GL account's id, the VAT code and the amounts with their sign (a negative entry is
Exact's credit note). This adapter adds our unique reference and speaks Exact's rules:

- The reference (``tribe:<id>``) goes in ``ExternalLinkReference``: writable on SalesEntries
  (Exact's reference, picqer's entity) and meant for an outside system's key, where
  ``Description`` is what the accountant reads. [INFER] whether a real division takes a
  ``$filter`` on it is unknown (research: "test on a real division; fallback YourRef"); the
  simulator does.
- Every read is a ``$filter`` that answers an empty list, never a GET by key: a 404 counts
  toward Exact's block of the key, as every 4xx does.
- ``EntryNumber`` is unique per journal and year: before the POST the entry with that number in
  the journal is looked up (one small read), so an entry that is ours already is taken as it is
  and a number another entry holds is held naming the field — instead of a refusal Exact counts.
  A refusal that comes anyway (a race) is looked up the same way.
- Lookup tables (journals, VAT codes, GL accounts) are read for the codes the division's
  settings name only: one small request each rather than every page of the chart of accounts,
  and once per run and division (the core keeps them for the run's other invoice tasks:
  ``sync/lookups.py``).

The core flow (``sync/invoices.py``) decides when to look up and create. ``posts`` is True and
``posted_as`` "booked": an entry is final on creation, so ``posted_number`` is its entry number
(from the create's answer, or read back) and ``post`` has nothing left to do.

For a later step (the invoice's document), :meth:`ExactInvoices.entry` gives what an Exact
document of the entry needs: the entry's id, its number, journal, year and the customer account.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tribe_operators.exceptions import ApiClientError, RecordError
from tribe_operators.protocols import Adapter, Exported
from tribe_operators.systems.exact.documents import ExactDocuments
from tribe_operators.systems.exact.odata import odata_string, results
from tribe_operators.systems.exact.target import ExactTarget

__all__ = ["ENTRIES", "REFERENCE", "ExactInvoices", "SalesEntry"]

ENTRIES = "salesentry/SalesEntries"
REFERENCE = "ExternalLinkReference"  # where our unique reference lives on an entry (see above)
SELECT = f"EntryID,EntryNumber,Journal,ReportingYear,EntryDate,Customer,YourRef,{REFERENCE}"
_CODES_PER_CALL = 20  # as odata.by_ids: well inside Exact's 6,000-character URL
# The lookup tables the invoice mapping reads, and which settings of invoices.<scope> name their codes.
_NAMED_CODES = {"financial/journals": lambda s: [s.get("journal")],
                "vat/vatcodes": lambda s: list((s.get("vat_codes") or {}).values()),
                "financial/glaccounts": lambda s: list((s.get("gl_accounts") or {}).values())}


@dataclass(frozen=True)
class SalesEntry:
    """A booked entry as a later step (its document) needs it."""

    entry_id: str
    entry_number: str | None
    journal: str | None
    year: int | None
    account: str | None  # the customer account's id
    reference: str | None  # our unique reference (ExternalLinkReference)


class ExactInvoices(ExactDocuments, Adapter):
    title = "Exact Online"
    posts = True  # an entry is booked on creation (Status 20 "Open" for payment), nothing to post
    posted_as = "booked"

    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: dict[str, Any] | None = None) -> None:
        super().__init__(hook, settings, scope)
        self._entries: dict[str, SalesEntry] = {}  # what this task created or found, by entry id

    def _client(self) -> Any:
        return self.hook.client_for(self.scope.get("key") or None)

    def _division_settings(self) -> dict[str, Any]:
        return (self.settings.get("invoices") or {}).get(str(self.scope.get("name") or "default")) or {}

    # ---- lookups ----------------------------------------------------------------------------
    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """Code → ``value`` (default: ID) of the codes the division's settings name (trimmed, as
        Exact compares them); a table the settings do not narrow is read whole."""
        named = _NAMED_CODES.get(entity_set.lower())
        if named is None:
            return ExactTarget(self.hook, self.settings, self.scope).lookup_table(entity_set, key, value)
        codes = sorted({str(c).strip() for c in named(self._division_settings()) if c not in (None, "")})
        column, table = value or "ID", {}
        select = key if column == key else f"{key},{column}"
        for start in range(0, len(codes), _CODES_PER_CALL):
            condition = " or ".join(f"{key} eq {odata_string(c)}" for c in codes[start:start + _CODES_PER_CALL])
            for row in self._read(entity_set, condition, select):
                if row.get(key) not in (None, ""):
                    table[str(row[key]).strip()] = str(row[column]).strip()
        return table

    # ---- reads ------------------------------------------------------------------------------
    def _read(self, entity_set: str, condition: str, select: str) -> list[dict[str, Any]]:
        from tribe_operators.http.pagination import NextLinkPaginator

        params = {"$select": select, "$filter": condition}
        return [r for page in self._client().pages(entity_set, NextLinkPaginator(), params) for r in page]

    def _entry(self, row: dict[str, Any]) -> SalesEntry:
        number = row.get("EntryNumber")
        year = row.get("ReportingYear")
        entry = SalesEntry(entry_id=str(row["EntryID"]), entry_number=None if number is None else str(number),
                           journal=(str(row["Journal"]).strip() if row.get("Journal") is not None else None),
                           year=None if year is None else int(year), account=row.get("Customer"),
                           reference=row.get(REFERENCE))
        self._entries[entry.entry_id] = entry
        return entry

    def _exported(self, entry: SalesEntry) -> Exported:
        return Exported(entry.entry_id, entry.entry_number)

    def find(self, reference: str, claimed_at: datetime | None = None) -> Exported | None:
        """The entry carrying ``reference`` (a filter: none is an empty list, not a 404)."""
        rows = self._read(ENTRIES, f"{REFERENCE} eq {odata_string(reference)}", SELECT)
        if not rows:
            return None
        first = min(rows, key=lambda r: (r.get("EntryNumber") or 0, str(r["EntryID"])))
        return self._exported(self._entry(first))

    def by_number(self, number: Any, journal: str) -> list[SalesEntry]:
        """The entries numbered ``number`` in ``journal`` (any year: the caller compares)."""
        condition = f"EntryNumber eq {int(number)} and Journal eq {odata_string(journal)}"
        return [self._entry(r) for r in self._read(ENTRIES, condition, SELECT)]

    def entry(self, external_id: str) -> SalesEntry | None:
        """The entry by id, as a document of it needs it: known from this task's create or
        lookup, else read (a filter on ``EntryID``)."""
        known = self._entries.get(external_id)
        if known is not None:
            return known
        rows = self._read(ENTRIES, f"EntryID eq guid'{external_id}'", SELECT)
        return self._entry(rows[0]) if rows else None

    # ---- the booking ------------------------------------------------------------------------
    def create(self, fields: dict[str, Any], reference: str) -> Exported:
        """Book the entry with ``reference`` on it, unless its entry number is taken already in
        the journal: by ours (taken as it is) or by another entry (held, naming the field)."""
        body = {k: v for k, v in fields.items() if v is not None and k != "SalesEntryLines"}
        body["SalesEntryLines"] = [{k: v for k, v in line.items() if v is not None}
                                   for line in fields.get("SalesEntryLines") or []]
        body[REFERENCE] = reference
        ours = self._number_taken(body, reference)
        if ours is not None:
            return ours
        try:
            answer = self._client().request("POST", ENTRIES, json=body).json()
        except ApiClientError as exc:
            if exc.status != 400:
                raise
            # Exact's wording for a duplicate number is not published [INFER]: whatever the 400
            # says, the journal tells whether that number is taken (by ours: it landed before).
            ours = self._number_taken(body, reference)
            if ours is not None:
                return ours
            raise
        return self._exported(self._entry(results(answer)[0]))

    def _number_taken(self, body: dict[str, Any], reference: str) -> Exported | None:
        """Ours when an entry with ``body``'s number in its journal carries ``reference``; None
        when the number is free in the entry's year.

        Raises:
            RecordError: another entry of that year holds the number (Exact would refuse it).
        """
        number, journal = body.get("EntryNumber"), body.get("Journal")
        if number is None or journal is None:
            return None  # Exact numbers it: nothing to collide with
        found = self.by_number(number, str(journal))
        for entry in found:
            if entry.reference == reference:
                return self._exported(entry)
        year = _year(body.get("EntryDate"))
        taken = [e for e in found if year is None or e.year in (None, year)]
        if taken:
            raise RecordError("Number", f"entry number {number} is taken in Exact journal {journal}"
                                        f"{f' ({year})' if year else ''} by another entry ({taken[0].entry_id}, "
                                        f"reference {taken[0].reference or 'none'}): Exact numbers entries uniquely "
                                        "per journal and year; book this invoice by hand or free the number")
        return None

    def posted_number(self, external_id: str) -> str | None:
        """The entry's number: an entry is booked from the moment it exists."""
        entry = self.entry(external_id)
        return None if entry is None else entry.entry_number

    def post(self, external_id: str) -> None:
        """Nothing to do: Exact books a sales entry on creation (no draft, no posting call)."""


def _year(value: Any) -> int | None:
    text = str(value or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None
