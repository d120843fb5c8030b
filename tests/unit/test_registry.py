"""The system registry: every system is found, its parts load and keep the protocols, and a new
system is one more package — found without touching the core."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tribe_operators import systems as systems_package
from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping import catalogue as core_transforms
from tribe_operators import registry
from tribe_operators.protocols import RelationshipTarget, Source, Target, WritesBack


@pytest.fixture
def fresh_registry():
    registry.systems.cache_clear()
    core_transforms.known_transforms.cache_clear()
    yield registry
    registry.systems.cache_clear()
    core_transforms.known_transforms.cache_clear()


def test_every_system_package_is_found_and_its_parts_load(fresh_registry):
    found = fresh_registry.systems()
    assert set(found) >= {"poweroffice", "tribe", "odoo", "exact"}
    for system in found.values():
        hook = system.part("hook")
        assert hook.__module__.startswith(system.package), (system.name, hook.__module__)
        if system.connection_type:
            conn_type, declaration = system.part("connection_type")
            assert declaration["hook-class-name"] == f"{hook.__module__}.{hook.__name__}"
            assert hook.conn_type == conn_type


@pytest.mark.parametrize("name", ["poweroffice", "tribe"])
def test_adapters_keep_the_protocols(fresh_registry, name):
    system = fresh_registry.get_system(name)
    assert isinstance(system.part("source")(None), Source)
    target = system.part("target")(None)
    assert isinstance(target, Target)
    # Capabilities are explicit: only Tribe takes role relationships, only Tribe takes a number back.
    assert isinstance(target, RelationshipTarget) == (name == "tribe")
    assert isinstance(system.part("source")(None), WritesBack) == (name == "tribe")


def test_a_system_transform_is_known_to_the_mapping_engine(fresh_registry):
    known = core_transforms.known_transforms()
    assert "sales_account" in known and "sales_account" not in core_transforms.TRANSFORMS


def _write_system(root: Path, package: str, name: str, transform: str = "acme_code") -> None:
    folder = root / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(textwrap.dedent(f'''
        from tribe_operators.registry import System

        SYSTEM = System(name="{name}", title="Acme Books", hook=".hook:AcmeHook", default_conn_id="acme_default",
                        transforms=".transforms:TRANSFORMS", pool="acme_api", rate_per_minute=30)
    '''))
    (folder / "hook.py").write_text("class AcmeHook:\n    def __init__(self, conn_id):\n        self.conn_id = conn_id\n")
    (folder / "transforms.py").write_text(f"TRANSFORMS = {{'{transform}': lambda value, ctx, record: value}}\n")


def test_a_new_system_is_one_more_package_and_no_core_change(fresh_registry, tmp_path, monkeypatch):
    _write_system(tmp_path, "acme", "acme")
    monkeypatch.setattr(systems_package, "__path__", [*systems_package.__path__, str(tmp_path)])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))  # forget the temporary package afterwards
    acme = fresh_registry.get_system("acme")
    assert acme.new_hook().conn_id == "acme_default"
    assert "acme_code" in core_transforms.known_transforms()
    from tribe_operators.pools import api_pool

    assert api_pool("acme", "tribe") == "acme_api"  # the scarcer budget: 30/min against Tribe's 1,000


def test_two_systems_with_one_name_or_one_transform_name_are_refused(fresh_registry, tmp_path, monkeypatch):
    _write_system(tmp_path, "twin", "poweroffice")
    monkeypatch.setattr(systems_package, "__path__", [*systems_package.__path__, str(tmp_path)])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    with pytest.raises(MappingConfigError, match="two systems are named 'poweroffice'"):
        fresh_registry.systems()


def test_a_transform_clash_is_refused(fresh_registry, tmp_path, monkeypatch):
    _write_system(tmp_path, "clash", "clash", transform="text")  # the core's own
    monkeypatch.setattr(systems_package, "__path__", [*systems_package.__path__, str(tmp_path)])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    with pytest.raises(MappingConfigError, match="transform 'text' of Acme Books is already defined"):
        core_transforms.known_transforms()


def test_an_unknown_system_names_the_known_ones(fresh_registry):
    with pytest.raises(MappingConfigError, match=r"no system 'sap'; known: \['exact', 'odoo', 'poweroffice', 'tribe'\]"):
        fresh_registry.get_system("sap")
