"""``python -m bench [name …] [--quick]``: run benchmarks, print ratios, write bench/results/*.json.

Names: parse, cpu, memory, calls, calls_odoo, calls_exact, ratelimit, shared_budget, tokens (default: all, in
that order). ``--quick`` runs reduced sizes (for a smoke check; the README's figures are from full runs).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

ORDER = ["parse", "cpu", "memory", "calls", "calls_odoo", "calls_exact", "ratelimit", "shared_budget", "tokens"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"benchmarks to run: {', '.join(ORDER)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="reduced sizes: a smoke run, not the published figures")
    parser.add_argument("--table", action="store_true", help="print the README table from bench/results/ and stop")
    args = parser.parse_args(argv)
    if args.table:
        from bench.report import markdown_table

        print(markdown_table(ORDER))
        return 0
    unknown = sorted(set(args.names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {ORDER}")
    failed = []
    for name in args.names or ORDER:
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        result = module.run(quick=args.quick)
        print(f"  ({name}: {time.monotonic() - started:.1f} s)")
        if result.get("met") is False:
            failed.append(name)
    if failed:
        print(f"\ntargets not met: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
