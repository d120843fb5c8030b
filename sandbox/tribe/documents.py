"""The invoice PDF, where Tribe keeps it: an ``Attachment`` of the invoice, its bytes at ``$value``.

[INFER] Tribe's docs name an ``Attachment`` entity and an ``Attachments`` navigation on every
entity (``NumberOfAttachments`` counts them), and say "Finalize" generates the PDF when the
invoice is sent; where the PDF lives and how its bytes are served is not published. Modelled
as: when an invoice reaches Sent, Tribe adds one ``Attachment`` to it (``FileName``
``Factuur <number>.pdf``, ``ContentType`` ``application/pdf``, ``FileSize``, ``Activity`` →
the invoice), and the file is read as an OData media resource:
``GET /v1/odata/Attachment(<id>)/$value``. The bytes are rendered once, from the invoice as
sent (frozen from then on), so they are the same for an invoice every time it is read.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ATTACHMENT_SET", "CONTENT", "PDF", "attachment_content", "ensure_invoice_pdf", "invoice_pdf"]

ATTACHMENT_SET = "Attachment"
PDF = "application/pdf"
CONTENT = "_content"  # the file's bytes, kept on the record but never serialised (not a field)


def invoice_pdf(invoice: dict[str, Any]) -> bytes:
    """A small, valid one-page PDF of the invoice: number, dates, totals and id (deterministic)."""
    lines = [f"Factuur {invoice.get('Number')}", f"Factuurdatum {invoice.get('InvoiceDate')}",
             f"Vervaldatum {invoice.get('DueDate')}", f"Onderwerp {invoice.get('Subject') or ''}",
             f"Totaal excl. btw {invoice.get('TotalExcludingVat')} {invoice.get('Currency')}",
             f"Totaal incl. btw {invoice.get('TotalIncludingVat')} {invoice.get('Currency')}",
             f"Tribe ID {invoice.get('ID')}"]
    text = "BT /F1 11 Tf 56 780 Td 14 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("latin-1", "replace")),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary marker line real PDFs carry
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def ensure_invoice_pdf(store: Any, invoice: dict[str, Any]) -> None:
    """Inside the write that sent ``invoice``: give it its PDF attachment unless it has one."""
    if any(a.get("ContentType") == PDF for a in store.children(invoice, "Attachments")):
        return
    content = invoice_pdf(invoice)
    record = store.add_within_write(ATTACHMENT_SET, {
        "FileName": f"Factuur {invoice.get('Number')}.pdf", "ContentType": PDF, "Activity": {"ID": invoice["ID"]}})
    store.patch(record["ID"], {CONTENT: content, "FileSize": len(content)})


def attachment_content(record: dict[str, Any]) -> bytes | None:
    """The bytes of a stored attachment (None: a record without a file)."""
    return record.get(CONTENT)
