"""One Airflow pool per external API: how many tasks may talk to a vendor at once.

The sizes are in ``include/pools.json`` (``airflow pools import include/pools.json``: the
compose file's ``airflow-init`` does it, the live test harness creates the same pools through
the REST API; the README's "Pools" explains each size). The names are here, with the rule the
DAG files use to give every task that calls an API the pool of the system it talks to.

Pools bound concurrent *tasks*, not requests: each hook paces its own requests at the vendor's
published rate and honours 429 + ``Retry-After``. That pacing is per task process, so the pool
is what bounds how many tasks share one vendor's budget.

Nothing heavy is imported: DAG files use this at parse time.
"""
from __future__ import annotations

__all__ = ["API_POOLS", "RATE_PER_MINUTE", "STEP_SIDE", "api_pool", "step_pool", "stream_systems"]

API_POOLS = {"tribe": "tribe_api", "poweroffice": "poweroffice_api", "odoo": "odoo_api", "exact": "exact_online_api"}

# Requests per minute a vendor allows one integration (Tribe: none published, our pacing). Ranks
# the systems by scarcity for a task that talks to several (Odoo: none published, assumed ~1/s).
RATE_PER_MINUTE = {"exact": 60, "odoo": 60, "poweroffice": 600, "tribe": 1000}

# The side of a stream each step talks to: extract reads the source; map (its lookup tables),
# dedupe (finding matches) and load (the writes) talk to the target. Load's write-backs to the
# source (PowerOffice's number into Tribe) are one call per created record.
STEP_SIDE = {"extract": "source", "map": "target", "dedupe": "target", "load": "target"}


def api_pool(*systems: str) -> str:
    """The pool of the scarcest of ``systems`` (lowest published rate): a task that talks to
    two systems (invoice export: reads Tribe, writes PowerOffice) takes one pool, the tighter one."""
    if not systems:
        raise ValueError("api_pool() needs at least one system")
    unknown = set(systems) - set(API_POOLS)
    if unknown:
        raise ValueError(f"no pool for system(s) {sorted(unknown)}; known: {sorted(API_POOLS)}")
    return API_POOLS[min(systems, key=RATE_PER_MINUTE.__getitem__)]


def stream_systems(integration: str, stream: str) -> tuple[str, str]:
    """``(source, target)`` of a stream of a ``stream_group`` without reading its mapping file
    (parse time stays cheap): ``tribe_*`` streams go Tribe → ``integration``, the others
    ``integration`` → Tribe. ``tests/dags/test_pools.py`` checks it against the mapping file of
    every stream task in the DAGs. (The invoice export, Tribe → PowerOffice, has operators and
    pools of its own.)"""
    return ("tribe", integration) if stream.startswith("tribe_") else (integration, "tribe")


def step_pool(integration: str, stream: str, step: str) -> str:
    """The pool of one step (``extract``, ``map``, ``dedupe``, ``load``) of a stream."""
    source, target = stream_systems(integration, stream)
    return api_pool(source if STEP_SIDE[step] == "source" else target)
