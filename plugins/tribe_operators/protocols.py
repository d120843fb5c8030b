"""What the core asks of a system's adapters, as typed protocols.

A system implements the roles it plays: a *source* (records changed in a window), a *target*
(find, create, update), and the capabilities some have — writing a number back to the
source, giving a new record its role relationship. Each capability is a protocol of its
own, so the core asks ``isinstance(target, RelationshipTarget)`` instead of probing for
attributes, and a system that lacks one says so by not implementing it.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tribe_operators.mapping.filters import Condition
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["RELATIONSHIP_ID", "Adapter", "CursorSource", "DeletionSource", "DocumentSource", "DocumentTarget",
           "EndingSource", "Exported", "InvoiceSource", "InvoiceTarget", "RelationshipTarget", "Row", "Source",
           "SourceDocument", "Target", "WritesBack"]

Row = tuple[str, datetime | None, dict[str, Any]]  # (source id, modified at, record)
# In what ``Target.create`` returns: the id of the role relationship created with the record
# (Tribe's deep insert of an organisation inside its Customer relationship), linked at once.
RELATIONSHIP_ID = "@relationship.ID"


class Adapter:
    """What every adapter of a system is built with (``System.adapter``): its hook, the
    integration's settings and the scope it serves (``{"name": …, "key": …}``: a legal entity,
    a division; empty for a system without scopes)."""

    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: dict[str, Any] | None = None) -> None:
        self.hook = hook
        self.settings = settings or {}
        self.scope = scope or {}


@runtime_checkable
class Source(Protocol):
    system: str

    def extract(self, spec: StreamSpec, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Pages of the records changed in ``(since, until]`` that meet every condition of
        ``where`` (default: the mapping's), sent to the API where it can take them."""

    def fetch(self, spec: StreamSpec, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        """Records by id (quarantine retries) that meet ``where``; ids that no longer exist are left out."""

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """A code → id table (countries, units) read once per run."""


@runtime_checkable
class CursorSource(Protocol):
    """A source whose changes come in the order of a cursor (a sync endpoint's Timestamp):
    pages of rows after ``cursor``, each with the highest cursor it holds. Rows sharing a cursor
    may straddle two pages, so a run that stops early resumes just before its last page's highest
    (re-reading those few rows, which are then skipped by their hash), never after it."""

    def extract_changes(self, spec: StreamSpec, cursor: int,
                        where: list[Condition] | None = None) -> Iterator[tuple[list[Row], int]]: ...


@runtime_checkable
class DeletionSource(Protocol):
    """A source that keeps a log of what was deleted (Exact's ``sync/Deleted``), in the order of
    a cursor: pages of ``(resource, record id)`` deleted after ``cursor`` among ``resources`` (the
    mappings' ``source.resource``), each with the highest cursor it holds."""

    def deleted_after(self, cursor: int, resources: list[str]) -> Iterator[tuple[list[tuple[str, str]], int]]: ...


@runtime_checkable
class EndingSource(Protocol):
    """A source whose records end on a date (``source.ends_field``) with no change its cursor or
    webhooks see when the day passes: pages of the records whose date lies in ``[since, until)``
    (``since`` None: any time before ``until``; both the start of a day of ``wall_zone``, the zone
    its dates are wall times of) that meet ``where``. Read once a day by ``sync.ended``."""

    wall_zone: str

    def ended_between(self, spec: StreamSpec, since: datetime | None, until: datetime,
                      where: list[Condition] | None = None) -> Iterator[list[Row]]: ...


@runtime_checkable
class Target(Protocol):
    system: str
    id_key: str  # the id field of its records
    answers_with_record: bool  # a create / update answers with the whole record (no read-back)
    modified_field: str | None  # the modification stamp on its records, when it has one

    def find(self, spec: StreamSpec, fields: list[str],
             values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Records whose ``fields`` equal each tuple of ``values``, in the keys' normal form."""

    def fetch(self, spec: StreamSpec, ids: Any, hints: Any = None) -> dict[str, dict[str, Any]]:
        """Current records by id."""

    def differs(self, current: dict[str, Any], fields: dict[str, Any]) -> bool:
        """Would writing ``fields`` change ``current``?"""

    def create(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """Create; the answer carries the new id (and ``RELATIONSHIP_ID`` when one was made)."""

    def update(self, spec: StreamSpec, target_id: str, fields: dict[str, Any], current: dict[str, Any] | None) -> None:
        """Write the fields that differ from ``current``."""

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """A code → id table read once per run."""

    def as_source(self) -> Source:
        """The same system read as a source (what the opposite stream sees after a write)."""


@runtime_checkable
class WritesBack(Protocol):
    """A source that takes a number the other side assigned (PowerOffice's customer number)."""

    def write_back(self, spec: StreamSpec, source_id: str, changes: dict[str, Any]) -> None: ...


@runtime_checkable
class RelationshipTarget(Protocol):
    """A target whose records take a role relationship (Tribe: Customer, Supplier)."""

    def find_relationship(self, spec: StreamSpec, target_id: str) -> str | None: ...

    def create_relationship(self, spec: StreamSpec, target_id: str) -> str | None: ...


@dataclass(frozen=True)
class Exported:
    """A document as the accounting system holds it: its id, and its number once it has one
    (PowerOffice numbers an invoice when it is booked, Odoo a move when it is posted)."""

    external_id: str
    number: str | None = None


@runtime_checkable
class InvoiceSource(Protocol):
    """Where invoices come from (the CRM): the Sent ones, one in full, and marking one Paid."""

    def pending(self, *, since: datetime | None = None, only: list[str] | None = None,
                numbers: list[int] | None = None, fields: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """Sent (or Paid) invoices, optionally only these ids, these invoice numbers or changed
        after ``since``; each carries ``ID``, ``Number``, ``customer`` (a name for people),
        ``amount``, ``currency`` and the dotted ``fields`` asked for."""

    def read(self, invoice_id: str) -> dict[str, Any]:
        """One invoice with everything its mapping reads (lines, products, units, VAT groups)."""

    def mark_paid(self, invoice_id: str) -> bool:
        """Move it to Paid; False when it already was."""


@runtime_checkable
class InvoiceTarget(Protocol):
    """Where invoices go (an accounting system), built on its hook with the settings and scope.

    The core keeps the ledger, claims before creating and looks up before re-creating; the
    adapter only speaks its system's language. ``create`` raises ``AmbiguousWriteError`` when
    the outcome is unknown, ``DuplicateReferenceError`` when the system already has the
    reference and ``ApiClientError`` when it refused the document.
    """

    title: str
    posts: bool  # the settings ask for a booked / posted invoice, not a draft
    posted_as: str  # what the system calls a finished one: "booked" (PowerOffice), "posted" (Odoo)

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """A code → id table the invoice mapping reads (payment terms…)."""

    def find(self, reference: str, claimed_at: datetime) -> Exported | None:
        """The document carrying our unique reference, made since about ``claimed_at``."""

    def create(self, fields: dict[str, Any], reference: str) -> Exported:
        """Create the document (a draft) with our unique reference on it."""

    def posted_number(self, external_id: str) -> str | None:
        """Its number if it is booked / posted already, else None."""

    def post(self, external_id: str) -> None:
        """Book / post it (the core checks ``posted_number`` before and after)."""


@dataclass(frozen=True)
class SourceDocument:
    """A file the CRM keeps for a record (an invoice's PDF): its name and its bytes."""

    file_name: str
    content: bytes


@runtime_checkable
class DocumentSource(Protocol):
    """A CRM that has documents: the file an invoice was sent as."""

    def invoice_document(self, invoice_id: str) -> SourceDocument | None:
        """The invoice's PDF, or None when the CRM holds none for it."""


@runtime_checkable
class DocumentTarget(Protocol):
    """An accounting system that attaches documents to what was exported (``sync.documents``).

    As with ``InvoiceTarget`` the core keeps the ledger, claims each step before its request and
    looks up after a lost answer; ``create_document`` and ``attach`` raise ``AmbiguousWriteError``
    when the outcome is unknown and ``ApiClientError`` when the system refused. Lookups never
    fetch by key (a 404 is a refusal some systems count)."""

    def find_document(self, reference: str, record: Exported) -> str | None:
        """The id of the document carrying our ``reference``, linked to ``record``."""

    def create_document(self, record: Exported, reference: str, subject: str) -> str:
        """Create a document linked to the exported ``record`` with ``reference`` on it; its id."""

    def find_attachment(self, document_id: str, file_name: str) -> str | None:
        """The id of the document's attachment named ``file_name``."""

    def attach(self, document_id: str, file_name: str, content: bytes) -> str:
        """Attach the file's bytes to the document; the attachment's id."""
