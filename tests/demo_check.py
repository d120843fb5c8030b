"""Check a round of the README's main job (``scripts/demo.sh``) as .ci/run runs it on a fresh
clone: ``python -m tests.demo_check <demo dir> <output file> first|again <sqlite|postgresql>``.

Exits 1 naming what is wrong: the demo exited non-zero, printed a traceback, used another link
database than the one asked for, a run did not succeed, or (``again``) the round wrote anything.
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
