"""Peak RSS of one import task at 10,000 vs 100,000 PowerOffice customers. Target: ≤ 1.2×.

Per size, three processes:

* the **PowerOffice simulator** (``sandbox.poweroffice`` on a ``ServerThread``), seeded with N
  customers, rate limit off, no latency — its own memory grows with N, so it is never the
  process measured. It keeps each rendered DTO (its list endpoint renders every record for
  every page, which at 100,000 records would make the simulator, not the pipeline, the
  bottleneck);
* a fresh **measured process** running the real pipeline on the customers stream:
  ``extract_step`` (``PowerOfficeSource`` over the real ``PowerOfficeHook``: HTTP, OAuth,
  pacing, 1,000-record pages) → ``map_step`` → ``dedupe_step`` → ``load_step``, with Tribe as an
  in-process stand-in that keeps nothing (``bench._support.tribe_stand_in``);
* this process, which starts both and reads the result.

CPU per record is reported per step and for the whole task: the measured process's own
``process_time`` plus the CPU of the PostgreSQL backends serving it (``PgBackendCpu``).

Peak RSS is the measured process's own high-water mark (``VmHWM`` in ``/proc/self/status``;
``ru_maxrss`` is not used: it survives exec, so it would report this parent process); a
sampler thread (every 20 ms) attributes it to the step that was running. The link database is a throwaway
PostgreSQL database per size (``synchronous_commit = off``: load commits once per row, and
memory does not depend on fsync).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._support import (
    ROOT,
    PgBackendCpu,
    ServerProcess,
    airflow_env,
    customer_inputs,
    ensure_path,
    render_once_poweroffice,
    scratch_database,
    tribe_stand_in,
)

TARGET_RATIO = 1.2
MARKER = "BENCH_MEMORY_RESULT "


# -- the simulator process ----------------------------------------------------------------------
def _serve(n: int) -> None:
    """Seed a PowerOffice simulator with ``n`` customers and serve it until stdin closes."""
    ensure_path()
    from sandbox.common import ServerThread
    from sandbox.poweroffice import create_app

    state = render_once_poweroffice(rate_limit=0)
    for fields in customer_inputs(n):
        state.insert_customer(**fields)
    with ServerThread(create_app(state)) as server:
        print(f"URL {server.url}", flush=True)
        sys.stdin.read()  # until the parent closes our stdin


class Simulator:
    """The simulator subprocess: ``with Simulator(n) as url: …``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.server: ServerProcess | None = None

    def __enter__(self) -> str:
        self.server = ServerProcess("bench.memory", self.n, "URL ")
        return self.server.words[0]

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()


# -- the measured process -----------------------------------------------------------------------
def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mib() -> float:
    """This process's peak RSS: ``VmHWM``, kept per address space, so it starts afresh at exec.
    (``getrusage().ru_maxrss`` survives exec: a child of a large parent would report the parent.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measure(db_url: str, with_load: bool) -> None:
    """Run extract → map → dedupe (→ load) on the customers stream; print the figures as JSON."""
    import threading

    ensure_path()
    step = {"name": "imports"}
    peaks: dict[str, float] = {}

    def sample() -> None:
        while True:
            name = step["name"]
            peaks[name] = max(peaks.get(name, 0.0), _rss_mib())
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.store.engine import engine_for
    from tribe_operators.sync.context import StepContext
    from tribe_operators.sync.steps import dedupe_step, extract_step, load_step, map_step
    from tribe_operators.systems.poweroffice.adapters import PowerOfficeSource
    from tribe_operators.systems.poweroffice.hook import PowerOfficeHook

    result: dict[str, Any] = {"after_imports_mib": round(_rss_mib(), 1)}
    engine = engine_for(url=db_url)
    backend = PgBackendCpu(engine)  # the task's CPU includes what its queries cost the database
    ctx = StepContext(engine=engine, run_id="bench_memory", spec=load_stream("poweroffice", "customers"),
                      settings=load_settings("poweroffice"))
    source, target = PowerOfficeSource(PowerOfficeHook()), tribe_stand_in()
    steps = [("extract", lambda: extract_step(ctx, source)),
             ("map", lambda: map_step(ctx, {"tribe": target, "poweroffice": source})),
             ("dedupe", lambda: dedupe_step(ctx, target)),
             ("load", lambda: load_step(ctx, target, source))][:None if with_load else 3]
    for name, run_step in steps:
        step["name"] = name
        started, cpu, db = time.perf_counter(), time.process_time(), backend.seconds()
        try:
            counts = run_step()
        except Exception as exc:  # noqa: BLE001 - reported, and the steps before it still count
            result[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
            break
        result[name] = {"seconds": round(time.perf_counter() - started, 1),
                        "cpu_s": round(time.process_time() - cpu, 2), "postgres_cpu_s": round(backend.seconds() - db, 2),
                        "peak_so_far_mib": round(_peak_mib(), 1),
                        "sampled_peak_mib": round(peaks.get(name, 0.0), 1), "rss_after_mib": round(_rss_mib(), 1),
                        "counts": {k: v for k, v in counts.items() if v}}
    result["peak_rss_mib"] = round(_peak_mib(), 1)
    result["postgres_cpu_available"] = backend.available
    print(MARKER + json.dumps(result), flush=True)


def measure(n: int, home: Path, with_load: bool) -> dict[str, Any]:
    """One size: simulator + scratch database + a fresh measured process."""
    from tests.fixtures.simulators import connection_env

    with Simulator(n) as po_url, scratch_database(f"memory_{n}") as (engine, url):
        import sqlalchemy as sa

        with engine.connect() as conn:  # per-row commits in load: no fsync wait (memory does not care)
            conn.execute(sa.text(f'ALTER DATABASE "{url.database}" SET synchronous_commit = off'))
            conn.commit()
        engine.dispose()
        env = {**os.environ, **airflow_env(home),
               **connection_env("http://127.0.0.1:9", po_url, po_extra={"rate_per_second": 10_000, "max_attempts": 3})}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.memory", "measure",
                               url.render_as_string(hide_password=False), "load" if with_load else "no-load"],
                              cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"measured process failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return {**json.loads(lines[-1][len(MARKER):]), "wall_s": round(wall, 1)}


def _per_record(step: dict[str, Any], n: int) -> str:
    """``process + postgres = total`` CPU milliseconds per record of one step (or several)."""
    own, db = step.get("cpu_s", 0.0) * 1000 / n, step.get("postgres_cpu_s", 0.0) * 1000 / n
    return f"{own:.3f} + {db:.3f} = {own + db:.3f}"


def run(quick: bool = False) -> dict[str, Any]:
    ensure_path()
    from bench.report import write_result

    small, large = (2_000, 20_000) if quick else (10_000, 100_000)
    # load writes its links row by row (several round trips per record, ~4 ms): 20,000 records
    # would take a minute and a half, so a quick run stops after dedupe.
    with_load = not quick
    with tempfile.TemporaryDirectory(prefix="tribe_sync_bench_memory_") as home:
        results = {n: measure(n, Path(home), with_load) for n in (small, large)}
    a, b = results[small], results[large]
    ratio = b["peak_rss_mib"] / a["peak_rss_mib"]
    steps = ("extract", "map", "dedupe", "load") if with_load else ("extract", "map", "dedupe")
    figures: dict[str, Any] = {
        "sizes": f"{small:,} vs {large:,} customers",
        f"peak RSS at {small:,} (MiB)": a["peak_rss_mib"],
        f"peak RSS at {large:,} (MiB)": b["peak_rss_mib"],
        "ratio": round(ratio, 3),
        "RSS after imports (MiB)": f"{a['after_imports_mib']} / {b['after_imports_mib']}",
        "growth beyond imports (MiB)": f"{a['peak_rss_mib'] - a['after_imports_mib']:.1f} / "
                                       f"{b['peak_rss_mib'] - b['after_imports_mib']:.1f}",
    }
    for name in steps:
        sa_, sb = a.get(name, {}), b.get(name, {})
        if "error" in sa_ or "error" in sb:
            figures[f"{name}: error"] = sa_.get("error") or sb.get("error")
            continue
        if sa_ and sb:
            figures[f"{name}: sampled peak MiB"] = f"{sa_['sampled_peak_mib']} / {sb['sampled_peak_mib']}"
            figures[f"{name}: seconds"] = f"{sa_['seconds']} / {sb['seconds']}"
            figures[f"{name}: CPU ms/record (process + postgres)"] = " / ".join(
                _per_record(r, n) for r, n in ((sa_, small), (sb, large)))
    for label, n in ((small, small), (large, large)):
        done = [results[n][s] for s in steps if "cpu_s" in results[n].get(s, {})]
        if len(done) == len(steps):
            figures[f"whole task CPU ms/record at {label:,} (process + postgres)"] = _per_record(
                {"cpu_s": sum(d["cpu_s"] for d in done), "postgres_cpu_s": sum(d["postgres_cpu_s"] for d in done)}, n)
    figures["counts at the larger size"] = "; ".join(
        f"{name} " + ", ".join(f"{k} {v:,}" for k, v in b[name]["counts"].items())
        for name in steps if "counts" in b.get(name, {}))
    figures["measured-process wall s"] = f"{a['wall_s']} / {b['wall_s']}"
    if not with_load:
        figures["load"] = "not run in --quick (it writes links row by row: ~4 ms a record)"
    met = ratio <= TARGET_RATIO and all("error" not in results[n].get(s, {}) for n in results for s in steps)
    params = {"sizes": [small, large], "quick": quick, "page_size": 1000, "stream": "poweroffice/customers",
              "steps": list(steps),
              "per_size": {str(n): r for n, r in results.items()}}
    return write_result("memory", figures, target=f"peak RSS at {large:,} ≤ {TARGET_RATIO}× that at {small:,}",
                        passed=met, params=params)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        _serve(int(sys.argv[2]))
    elif sys.argv[1] == "measure":
        _measure(sys.argv[2], with_load=sys.argv[3] == "load")
