"""One result format for every benchmark: printed as a table, written as JSON."""
from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "machine", "write_result"]

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
