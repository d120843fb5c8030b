"""One Airflow pool per external API: how many tasks may talk to a vendor at once.

The sizes are in ``include/pools.json`` (``airflow pools import include/pools.json``: the
compose file's ``airflow-init`` does it, the live test harness creates the same pools through
the REST API; the README's "Pools" explains each size). The names are here, with the rule the
DAG files use to give every task that calls an API the pool of the system it talks to.

Pools bound concurrent *tasks*, not requests: each hook paces its own requests at the vendor's
published rate and honours 429 + ``Retry-After``. That pacing is per task process, so the pool
is what bounds how many tasks share one vendor's budget.

Pool names and rates are each system's (``registry.System``). Nothing heavy is imported:
DAG files use this at parse time.
"""
from __future__ import annotations

__all__ = ["STEP_SIDE", "api_pool", "api_pools", "step_pool", "stream_systems"]



def api_pools() -> dict[str, str]:
    """``{system: pool}`` (``System.pool``)."""
    from tribe_operators.registry import systems

    return {name: system.pool for name, system in systems().items()}


def _rate(system: str) -> int:
    from tribe_operators.registry import get_system

    return get_system(system).rate_per_minute


# The side of a stream each step talks to: extract reads the source; map (its lookup tables),
# dedupe (finding matches) and load (the writes) talk to the target. Load's write-backs to the
# source (the accounting system's number into Tribe) are one call per created record.
STEP_SIDE = {"extract": "source", "map": "target", "dedupe": "target", "load": "target"}


def api_pool(*systems: str) -> str:
    """The pool of the scarcest of ``systems`` (lowest published rate): a task that talks to
    two systems (invoice export: reads the CRM, writes the accounting system) takes one pool, the tighter one."""
    if not systems:
        raise ValueError("api_pool() needs at least one system")
    pools = api_pools()
    unknown = set(systems) - set(pools)
    if unknown:
        raise ValueError(f"no pool for system(s) {sorted(unknown)}; known: {sorted(pools)}")
    return pools[min(systems, key=_rate)]


def stream_systems(integration: str, stream: str) -> tuple[str, str]:
    """``(source, target)`` of a stream of a ``stream_group`` without reading its mapping file
    (parse time stays cheap): ``tribe_*`` streams go Tribe → ``integration``, the others
    ``integration`` → Tribe. ``tests/dags/test_pools.py`` checks it against the mapping file of
    every stream task in the DAGs. (The invoice export has operators and pools of its own.)"""
    return ("tribe", integration) if stream.startswith("tribe_") else (integration, "tribe")


def step_pool(integration: str, stream: str, step: str) -> str:
    """The pool of one step (``extract``, ``map``, ``dedupe``, ``load``) of a stream."""
    source, target = stream_systems(integration, stream)
    return api_pool(source if STEP_SIDE[step] == "source" else target)
