"""The one registry of external systems: which exist, and where each keeps its parts.

A system is a package ``tribe_operators.systems.<name>`` whose ``SYSTEM`` is a :class:`System`,
or a third-party package that declares one in the ``tribe_sync.systems`` entry-point group.
The core finds systems here and nowhere else; it never imports a system's package by name,
so adding one adds its folder (and a mapping folder) and changes no core file. The parts are
named by dotted path and imported when first used: the DAG processor parses DAGs without
loading a single HTTP client (``bench/parse.py``), and Airflow's provider discovery reads
connection types without importing a hook.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from tribe_operators.exceptions import MappingConfigError

__all__ = ["System", "get_system", "load", "system_transforms", "systems"]

ENTRY_POINT_GROUP = "tribe_sync.systems"
SYSTEMS_PACKAGE = "tribe_operators.systems"  # the systems that come with tribe-sync, one package each


@dataclass(frozen=True)
class System:
    """What a system brings. Parts are named ``"module:attribute"``, relative to the system's
    own package when they start with a dot (``".hook:PowerOfficeHook"``).

    Args:
        name: Its name in mapping files (``source.system``, ``target.system``) and folders.
        title: As people write it, for messages ("PowerOffice Go").
        hook: The Airflow hook class; built with a connection id.
        default_conn_id: The connection used when a DAG names none.
        source: The source adapter class (built on a hook), if it is read from.
        target: The target adapter class, if it is written to.
        transforms: A ``{name: function}`` dict of named transforms its mapping files use.
        connection_type: ``(conn_type, declaration)`` for Airflow's provider info (form fields).
        invoices: Its invoice adapter class: where invoices go for an accounting system
            (``protocols.InvoiceTarget``), where they come from for the CRM (``InvoiceSource``).
        payments: Its payment adapter class (``sync.payments.PaymentSource``).
            Invoice and payment adapters are built as ``Adapter(hook, settings, scope)``.
        settings: Its settings model (a ``mapping.settings.CoreSettings`` subclass).
        pool: The Airflow pool of the tasks that talk to it (``include/pools.json``).
        rate_per_minute: What its API allows one integration (ranks systems by scarcity).
        exports: ``{kind: DAG id}`` of its Tribe → system DAGs a Tribe webhook starts
            (kinds: ``relations``, ``invoices``; ``webhooks.routing``).
        authorize: Its one-time authorization by a person (a system with no client-credentials
            grant): built on a hook, ``url()`` then ``complete(callback_url) -> [lines]``
            (``tribe-sync oauth authorize``).
        webhooks: Its webhook part, if it sends webhooks of its own: a class built without arguments
            with the methods of ``webhooks.inbound.InboundWebhooks`` (``POST /tribe-sync/webhooks/<name>``,
            ``tribe-sync webhooks subscribe``).
    """

    name: str
    title: str
    hook: str
    default_conn_id: str
    source: str | None = None
    target: str | None = None
    transforms: str | None = None
    connection_type: str | None = None
    invoices: str | None = None
    payments: str | None = None
    settings: str | None = None
    pool: str = ""
    rate_per_minute: int = 60
    exports: dict[str, str] = field(default_factory=dict)
    authorize: str | None = None
    webhooks: str | None = None
    package: str = ""  # where the relative parts are (set by ``systems()``)

    def part(self, role: str) -> Any:
        path = getattr(self, role)
        if path is None:
            raise MappingConfigError(f"{self.title} has no {role}")
        return load(path, self.package)

    def new_hook(self, conn_id: str | None = None) -> Any:
        return self.part("hook")(conn_id or self.default_conn_id)

    def adapter(self, role: str, conn_id: str | None = None, scope: dict[str, Any] | None = None,
                settings: dict[str, Any] | None = None) -> Any:
        """Any adapter (``source``, ``target``, ``invoices``, ``payments``) of one scope, in one
        shape: ``Adapter(hook, settings, scope)`` on a fresh hook of the scope's own connection,
        else ``conn_id``, else the default. The scope (``{"name": …, "key": …}``) says which
        legal entity or division the adapter reads and writes."""
        conn_id = (scope or {}).get("conn_id") or conn_id
        return self.part(role)(self.new_hook(conn_id), settings or {}, scope or {})


def load(path: str, package: str | None = None) -> Any:
    module, _, attribute = path.partition(":")
    loaded = importlib.import_module(module, package or None)
    return getattr(loaded, attribute) if attribute else loaded


@functools.cache
def systems() -> dict[str, System]:
    """Every system: the packages beside this module, then entry points (a name twice is an error)."""
    found: dict[str, System] = {}
    package = importlib.import_module(SYSTEMS_PACKAGE)  # imported here, when systems are first asked for
    candidates: list[tuple[str, Callable[[], Any]]] = [
        (f"{package.__name__}.{info.name}", functools.partial(importlib.import_module, f"{package.__name__}.{info.name}"))
        for info in pkgutil.iter_modules(package.__path__) if info.ispkg]
    candidates += [(f"entry point {ep.name}", ep.load) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for origin, get in candidates:
        loaded = get()
        system = getattr(loaded, "SYSTEM", loaded)
        if not isinstance(system, System):
            raise MappingConfigError(f"{origin} does not declare a System (SYSTEM = System(...))")
        if not system.package:
            system = dataclasses.replace(system, package=getattr(loaded, "__name__", "") if loaded is not system
                                         else system.hook.partition(":")[0].rpartition(".")[0])
        if system.name in found:
            raise MappingConfigError(f"two systems are named {system.name!r} ({origin})")
        found[system.name] = system
    return found


def get_system(name: str) -> System:
    try:
        return systems()[name]
    except KeyError:
        raise MappingConfigError(f"no system {name!r}; known: {sorted(systems())}") from None


def system_transforms(reserved: set[str]) -> dict[str, Callable[..., Any]]:
    """Named transforms of every system; a name the core or another system uses is an error."""
    merged: dict[str, Callable[..., Any]] = {}
    for system in systems().values():
        if system.transforms is None:
            continue
        for name, function in load(system.transforms, system.package).items():
            if name in reserved or name in merged:
                raise MappingConfigError(f"transform {name!r} of {system.title} is already defined")
            merged[name] = function
    return merged
