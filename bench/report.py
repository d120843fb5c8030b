"""One result format for every benchmark: printed as a table, written as JSON."""
from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "machine", "markdown_table", "write_result"]

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import psutil

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "system": platform.platform()}


def write_result(name: str, figures: dict[str, Any], *, target: str, passed: bool | None,
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Print ``figures`` and write ``bench/results/<name>.json`` (the README table reads these)."""
    result = {"benchmark": name, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "params": params or {}, "target": target, "met": passed, "figures": figures}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    width = max(len(k) for k in figures) if figures else 0
    print(f"\n== {name} ==  target: {target}  →  {'met' if passed else 'NOT met' if passed is False else 'n/a'}")
    for key, value in figures.items():
        shown = f"{value:,.4g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        print(f"  {key:<{width}}  {shown}")
    return result


# Figures a README row shows, per benchmark (keys of its "figures", matched by their start).
HEADLINES = {
    "parse": ["TOTAL: DagBag over dags/ ms", "ratio to the 1 s target"],
    "cpu": ["ours: TOTAL ms/rec", "core: TOTAL ms/rec", "baseline: TOTAL ms/rec", "ratio baseline / ours"],
    "memory": ["peak RSS at", "ratio"],
    "calls": ["initial import", "idle", "incremental", "worst ratio"],
    "ratelimit": ["ours (load_concurrency 4): Tribe calls ÷ allowed", "ours (load_concurrency 4): 429s",
                  "sequential: Tribe calls ÷ allowed"],
    "tokens": ["worst shared ratio", "PostgreSQL, shared: poweroffice tokens ÷", "PostgreSQL, shared: tribe tokens ÷",
               "PostgreSQL, each process its own (before): poweroffice tokens ÷"],
}


def _headline(name: str, figures: dict[str, Any]) -> str:
    shown = [f"{k}: {v:,.4g}" if isinstance(v, float) else f"{k}: {v}"
             for k, v in figures.items() if any(k.startswith(h) for h in HEADLINES.get(name, []))]
    return "<br>".join(shown)


def markdown_table(names: list[str]) -> str:
    """The README's table: one row per benchmark from its latest ``bench/results/<name>.json``."""
    rows = ["| benchmark | target | result | figures | measured |", "|---|---|---|---|---|"]
    for name in names:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            rows.append(f"| {name} | | not run yet | | |")
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        verdict = {True: "met", False: "**not met**", None: "n/a"}[result["met"]]
        quick = " (quick)" if result.get("params", {}).get("quick") else ""
        rows.append(f"| {name}{quick} | {result['target']} | {verdict} | {_headline(name, result['figures'])} | "
                    f"{result['measured_at'][:16].replace('T', ' ')} |")
    return "\n".join(rows)
