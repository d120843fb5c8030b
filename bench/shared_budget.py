"""Two workers, one vendor budget: two bulk loads at once against the same Tribe client id.
Target: combined rate ÷ allowed ≥ 0.90 in steady state with 0 × 429 when they share the budget
(``http/budget.py``, Redis), side by side with today's per-process pacing in the same run.

As ``bench/ratelimit.py`` (whose simulator process and figures this reuses): Tribe with its
documented 1,000 requests per client in any 60 s and PowerOffice with 10 per second, 100–150 ms
latency on every request, in a process of their own. Two client processes — what two Celery
workers are, each running one task — each run the real pipeline (extract → map → dedupe →
load, the production hooks and settings) on one half of the PowerOffice customers (the
settings' ``filters``: ``Number`` below / from the middle), each with a link database of its own,
started together. The rate is the Tribe simulator's own log of arrivals, both clients together,
measured as in ``bench/ratelimit.py`` (steady state after the first 60 s window).

The two loads run as plain processes rather than tasks of a Celery run: the budget is shared
between processes whoever starts them, and a DAG run's scheduling would only add noise to a
rate. ``tests/live/test_celery_workers.py`` shows the tasks of one run on both workers.
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

from bench._support import ROOT, airflow_env, ensure_path, scratch_database
from bench.ratelimit import MARKER, TRIBE_LIMIT, TRIBE_WINDOW_S, Simulators, _stats

TARGET = 0.90  # two workers together share the budget (README); one load alone: bench/ratelimit.py
REDIS = os.environ.get("TRIBE_SYNC_BENCH_REDIS", "redis://127.0.0.1:6379/13")
FIRST_NUMBER = 10_000  # bench._support.customer_inputs numbers customers from here


def _both(n: int, shared: bool, home: Path) -> dict[str, Any]:
    """Fresh simulators; two client processes at once, each on its half; the server's report."""
    from tests.fixtures.simulators import connection_env

    if shared:
        import redis

        redis.Redis.from_url(REDIS).flushdb()
    middle = FIRST_NUMBER + n // 2
    halves = [[{"field": "Number", "op": "lt", "value": middle}], [{"field": "Number", "op": "ge", "value": middle}]]
    with Simulators(n) as sims, scratch_database("budget_a") as (engine_a, url_a), \
            scratch_database("budget_b") as (engine_b, url_b):
        engine_a.dispose()
        engine_b.dispose()
        extra = {"rate_limit_store": REDIS} if shared else {}
        base = {**os.environ, **airflow_env(home), **connection_env(*sims.urls, tribe_extra=extra)}
        started = time.monotonic()
        procs = []
        for url, half in ((url_a, halves[0]), (url_b, halves[1])):
            procs.append(subprocess.Popen([sys.executable, "-m", "bench.ratelimit", "client",
                                           url.render_as_string(hide_password=False), "0",
                                           json.dumps({"filters": {"customers": half}})],
                                          cwd=ROOT, env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        clients = []
        for proc in procs:
            out, err = proc.communicate(timeout=3 * 3600)
            lines = [line for line in out.splitlines() if line.startswith(MARKER)]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"client failed ({proc.returncode}):\n{out[-2000:]}\n{err[-4000:]}")
            clients.append(json.loads(lines[-1][len(MARKER):]))
        wall = time.monotonic() - started
        server = sims.report()
    # _stats wants one client's step times: the first's (only used for a per-step breakdown).
    return {"wall_s": wall, "clients": clients, "server": server, "stats": _stats(server["arrivals"], clients[0])}


def _figures(run: dict[str, Any], name: str) -> dict[str, Any]:
    st, server = run["stats"], run["server"]
    created = [c["steps"]["load"]["counts"].get("created", 0) for c in run["clients"]]
    return {
        f"{name}: combined Tribe calls ÷ allowed (steady state)": st["call_ratio"],
        f"{name}: 429s (Tribe / PowerOffice)": f"{server['tribe']['rate_limited']} / {server['poweroffice']['rate_limited']}",
        f"{name}: busiest 60 s at Tribe": f"{st['peak_60s']:,} of {TRIBE_LIMIT:,}",
        f"{name}: created per worker": " + ".join(f"{c:,}" for c in created)
                                        + f" (Tribe: {server['imported']['organisations']:,} organisations)",
        f"{name}: wall s": round(run["wall_s"], 1),
    }


def run(quick: bool = False) -> dict[str, Any]:
    ensure_path()
    from bench.report import write_result

    n = 1_500 if quick else 4_000
    with tempfile.TemporaryDirectory(prefix="tribe_sync_bench_budget_") as home:
        shared = _both(n, True, Path(home))
        alone = _both(n, False, Path(home))
    figures = {**_figures(shared, "shared budget (Redis)"), **_figures(alone, "each process pacing alone")}
    ratio = shared["stats"]["call_ratio"]
    met = ratio is not None and ratio >= TARGET and shared["server"]["tribe"]["rate_limited"] == 0
    params = {"quick": quick, "records": n, "tribe_limit": f"{TRIBE_LIMIT} per {TRIBE_WINDOW_S:g} s sliding",
              "runs": {label: {"wall_s": round(r["wall_s"], 1), "stats": r["stats"],
                               "tribe_counters": r["server"]["tribe"], "imported": r["server"]["imported"]}
                       for label, r in (("shared", shared), ("alone", alone))}}
    return write_result("shared_budget", figures, target=f"two workers together ≥ {TARGET}× Tribe's allowed rate "
                        "in steady state, zero 429s", passed=met, params=params)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
