"""DAG parse time of every file in ``dags/`` beyond Airflow's own import. Target: ≤ 1 s total.

Each run is a fresh process with a throwaway ``AIRFLOW_HOME`` (unit-test mode, SQLite), so
nothing touches your Airflow. It imports ``airflow``, ``airflow.sdk`` and the ``DagBag`` class
first — timed apart, they are Airflow's cost — then parses the folder with
``DagBag(dag_folder=dags/)``: per-file times are the DagBag's own ``dagbag_stats``, the total is
the DagBag's wall time. The first file pays for importing ``tribe_operators`` (shared by the
rest), so each file is also parsed **alone** in a fresh process, as Airflow's dag-processor
parses each file in a process of its own. Three runs; medians reported.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._support import ROOT, airflow_env, ensure_path

TARGET_S = 1.0
RUNS = 3
MARKER = "BENCH_PARSE_RESULT "
DAGS = ROOT / "dags"


# Runs with ``python -c`` in a temporary directory: nothing of this repository on sys.path but
# what Airflow itself puts there (the plugins folder), as in a scheduler or dag-processor.
CHILD = """
import inspect, json, sys, time
from pathlib import Path
timings = {}
started = time.perf_counter()
import airflow
timings["import airflow"] = time.perf_counter() - started
mark = time.perf_counter()
import airflow.sdk
timings["import airflow.sdk"] = time.perf_counter() - mark
mark = time.perf_counter()
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # older layout
    from airflow.models.dagbag import DagBag
timings["import DagBag"] = time.perf_counter() - mark
kwargs = {"dag_folder": sys.argv[1]}
if "include_examples" in inspect.signature(DagBag.__init__).parameters:
    kwargs["include_examples"] = False
mark = time.perf_counter()
bag = DagBag(**kwargs)
timings["parse"] = time.perf_counter() - mark
print(MARKER + json.dumps({
    "timings": timings, "files": {Path(s.file).name: s.duration.total_seconds() for s in bag.dagbag_stats},
    "dags": sorted(bag.dags), "tasks": sum(len(d.tasks) for d in bag.dags.values()),
    "errors": {Path(k).name: str(v)[:300] for k, v in bag.import_errors.items()}}), flush=True)
"""


def _run_child(target: Path, home: str) -> dict[str, Any]:
    import os

    env = {**os.environ, **airflow_env(home)}
    code = f"MARKER = {MARKER!r}\n{CHILD}"
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tempfile.gettempdir(), env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"parse child failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(MARKER):])


def run(quick: bool = False) -> dict[str, Any]:
    ensure_path()
    from bench.report import write_result

    files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    runs = 1 if quick else RUNS
    folder_runs: list[dict[str, Any]] = []
    alone: dict[str, list[float]] = {f.name: [] for f in files}
    with tempfile.TemporaryDirectory(prefix="tribe_sync_bench_parse_") as home:
        for _ in range(runs):
            folder_runs.append(_run_child(DAGS, home))
            for f in files:
                alone[f.name].append(_run_child(f, home)["timings"]["parse"])

    def median(values: list[float]) -> float:
        return statistics.median(values)

    total = median([r["timings"]["parse"] for r in folder_runs])
    per_file = {name: median([r["files"].get(name, float("nan")) for r in folder_runs]) for name in alone}
    alone_ms = {name: median(v) for name, v in alone.items()}
    last = folder_runs[-1]
    figures: dict[str, Any] = {
        "DAG files / DAGs / tasks": f"{len(files)} / {len(last['dags'])} / {last['tasks']}",
        "import errors": ", ".join(f"{k}: {v}" for k, v in last["errors"].items()) or "none",
    }
    for step in ("import airflow", "import airflow.sdk", "import DagBag"):
        figures[f"{step} ms (Airflow's, not counted)"] = round(median([r["timings"][step] for r in folder_runs]) * 1000)
    for name, seconds in per_file.items():
        figures[f"{name} ms (in the folder's DagBag)"] = round(seconds * 1000, 1)
    figures["TOTAL: DagBag over dags/ ms"] = round(total * 1000, 1)
    figures["ratio to the 1 s target"] = round(total / TARGET_S, 3)
    for name, seconds in alone_ms.items():
        figures[f"{name} ms (alone, fresh process)"] = round(seconds * 1000, 1)
    figures["sum of files parsed alone ms"] = round(sum(alone_ms.values()) * 1000, 1)
    met = total <= TARGET_S and not last["errors"]
    params = {"runs": runs, "statistic": "median", "quick": quick, "dags_folder": str(DAGS),
              "runs_raw": folder_runs, "alone_raw_s": alone}
    return write_result("parse", figures, target=f"≤ {TARGET_S:g} s to parse every DAG file (after Airflow's import)",
                        passed=met, params=params)
