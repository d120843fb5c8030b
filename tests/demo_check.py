"""Check a round of the README's main job (``scripts/demo.sh``) as .ci/run runs it on a fresh
clone: ``python -m tests.demo_check <demo dir> <output file> first|again <sqlite|postgresql>``.

Exits 1 naming what is wrong: the demo exited non-zero, printed a traceback, used another link
database than the one asked for, a run did not succeed, (``again``) the round wrote anything, or
the Exact act's invoices are not as the README says (every round: what Tribe, the link database
and Exact show): two sales entries — one with a credit line — each with exactly one sales-invoice
document holding exactly one PDF attachment; one paid in Exact and Paid in Tribe, the other marked
Paid in Tribe and its payment booked once in Exact's bank journal 20, both settled in Exact.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def check(demo_dir: Path, output: Path, round_: str, database: str) -> list[str]:
    problems = []
    text = output.read_text(errors="replace")
    if "Traceback" in text:
        problems.append(f"{output} holds a traceback (line {text[:text.index('Traceback')].count(chr(10)) + 1})")
    result_file = demo_dir / "last_round.json"
    if not result_file.exists():
        return [*problems, f"{result_file} was not written: the demo did not reach its report"]
    result = json.loads(result_file.read_text())
    if result["database"] != database:
        problems.append(f"the demo used {result['database']}, not {database}")
    if result["failed"]:
        problems.append(f"runs not successful: {', '.join(result['failed'])}")
    if round_ == "again" and result["total_written"]:
        problems.append(f"the second round wrote {result['written']} (it must write nothing)")
    return problems + exact_invoice_problems(result.get("exact_invoices"))


def exact_invoice_problems(invoices: list[dict] | None) -> list[str]:
    """What is wrong with the Exact act's two invoices (``last_round.json``'s ``exact_invoices``)."""
    if not invoices or len(invoices) != 2:
        return [f"the Exact act reported {len(invoices or [])} invoice(s), not 2"]
    problems = []
    for row in invoices:
        what, exact = f"Exact demo invoice {row.get('number')}", row.get("exact") or {}
        if (row.get("invoice_ledger") or {}).get("state") != "sent":
            problems.append(f"{what} is not booked in Exact (ledger: {row.get('invoice_ledger')})")
        if exact.get("documents") != 1 or exact.get("sales_invoice_documents") != 1:
            problems.append(f"{what}: {exact.get('documents')} document(s) in Exact, not one sales-invoice document")
        files = exact.get("attachments") or []
        if len(files) != 1 or not str(files[0]).lower().endswith(".pdf"):
            problems.append(f"{what}: attachments {files} in Exact, not one PDF")
        if row.get("tribe_phase") != "Paid" or not exact.get("entry_paid"):
            problems.append(f"{what}: {row.get('tribe_phase')} in Tribe, settled in Exact: {exact.get('entry_paid')} "
                            "(both must be paid)")
    if not any(row.get("credit_lines") for row in invoices):
        problems.append("no Exact demo invoice has a credit line")
    booked = [row for row in invoices if (row.get("payment_ledger") or {}).get("state") in ("created", "sent")]
    if len(booked) != 1 or str((booked[0].get("exact") or {}).get("bank_journal") or "").strip() != "20":
        problems.append(f"{len(booked)} Exact demo invoice(s) with a payment booked from Tribe (one, in bank journal "
                        f"20, expected): {[(r.get('number'), (r.get('exact') or {}).get('bank_journal')) for r in booked]}")
    return problems


def main(argv: list[str]) -> int:
    demo_dir, output, round_, database = Path(argv[0]), Path(argv[1]), argv[2], argv[3]
    problems = check(demo_dir, output, round_, database)
    for problem in problems:
        print(f"demo ({database}, {round_} round): {problem}", file=sys.stderr)
    if not problems:
        print(f"demo ({database}, {round_} round): ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
