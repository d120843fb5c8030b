"""A source asks for what its mapping reads: every stream of every integration is mapped through a
record that logs each field read, and a read of a field the source did not request fails.

The record holds a valid sample value for each requested field (so each transform gets past its
own value to what else it reads of the record: the country of a phone, the zip of an address);
any other field is absent, as it is in what the source returns, and reading it is the bug of
issue 24 (Odoo addresses imported without zip, city or country).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tribe_operators.mapping import reads
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.reads import source_paths, target_fields
from tribe_operators.mapping.spec import StreamSpec, load_stream, mappings_root
from tribe_operators.mapping.transforms import MapContext

# A value each transform accepts, so it goes on to read what else it needs.
SAMPLES: dict[str, Any] = {
    "phone": "030 1234567", "email": "info@example.com", "url": "example.com", "vat_number": "NL123456782B90",
    "org_number": "923609016", "person_name": "Jan de Vries", "negate": True, "amount": 1, "number": 1,
    "text": "Text", "address_block": {"Street": "Kerkstraat", "HouseNumber": 12, "Country": {"Code": "NL"}},
}


def streams() -> list[tuple[str, str]]:
    root = mappings_root()
    return [(folder.name, path.stem) for folder in sorted(root.iterdir()) if folder.is_dir()
            for path in sorted(folder.glob("*.yaml")) if path.stem != "settings"]


class Logged(dict):
    """A record (or a part of one) that notes the dotted path of every field looked up in it."""

    def __init__(self, data: dict[str, Any], log: set[str], prefix: str = "") -> None:
        super().__init__({k: _wrap(v, log, f"{prefix}{k}.") for k, v in data.items()})
        self.log, self.prefix = log, prefix

    def get(self, key: Any, default: Any = None) -> Any:
        self.log.add(f"{self.prefix}{key}")
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.log.add(f"{self.prefix}{key}")
        return super().__getitem__(key)


def _wrap(value: Any, log: set[str], prefix: str) -> Any:
    if isinstance(value, dict):
        return Logged(value, log, prefix)
    if isinstance(value, list):
        return [_wrap(v, log, prefix) for v in value]
    return value


def _sample(spec: StreamSpec, path: str) -> Any:
    """The sample for a requested path: what the transform of the field reading it accepts."""
    for fm in [*spec.fields, *(f for child in spec.children for f in child.fields)]:
        if fm.source == path.rpartition(".")[2] or fm.source == path:
            name = fm.transform or (fm.pipe[0].transform if fm.pipe else "")
            if name == "address":
                return "Kerkstraat 12" if fm.args.get("flat") else {v: "NL" for v in fm.args["keys"].values()}
            return SAMPLES.get(name, "1")
    return "NL"  # a country code, a zip, a city: text any transform takes


def record_for(spec: StreamSpec, requested: list[str]) -> dict[str, Any]:
    children = {child.source for child in spec.children}
    record: dict[str, Any] = {}
    for path in requested:
        parts = path.split(".")
        node = record
        for depth, part in enumerate(parts[:-1]):
            if ".".join(parts[:depth + 1]) in children:
                node = node.setdefault(part, [{}])[0]
            else:
                node = node.setdefault(part, {})
        node.setdefault(parts[-1], _sample(spec, path))
    return record


def covered(read: str, requested: list[str]) -> bool:
    """A read is covered by a requested path, inside one read whole, or on the way to one."""
    return any(read == p or read.startswith(p + ".") or p.startswith(read + ".") for p in requested)


def undeclared_reads(integration: str, stream: str) -> set[str]:
    spec = load_stream(integration, stream)
    requested = source_paths(spec, [])
    log: set[str] = set()
    ctx = MapContext(lookups={name: {"NL": "1"} for name in spec.lookups}, links=lambda e, i: "1",
                     internal=lambda e, i: "1", integration=integration)
    try:
        Mapper(spec, ctx).map(Logged(record_for(spec, requested), log))
    except Exception as exc:  # a record error is fine: it is the reads that are checked
        if not hasattr(exc, "reason"):
            raise
    return {read for read in log if not covered(read, requested)}


@pytest.mark.parametrize(("integration", "stream"), streams())
def test_every_field_a_mapping_reads_is_requested(integration, stream):
    assert undeclared_reads(integration, stream) == set(), (
        f"{integration}/{stream} reads fields its source does not request: declare them in mapping/reads.py")


def test_the_check_finds_a_transform_reading_an_undeclared_field(monkeypatch):
    """With the phone's country undeclared, an Odoo contact's phone reads a field never asked for (a
    contact has no address or VAT number that would ask for the country instead)."""
    monkeypatch.delitem(reads.RECORD_READS, "phone")
    assert undeclared_reads("odoo", "contacts") == {"country_code"}


def test_odoo_partners_are_read_with_their_whole_address_and_country():
    requested = source_paths(load_stream("odoo", "customers"), [])
    assert {"street", "street2", "zip", "city", "country_code", "phone", "vat"} <= set(requested)


def test_an_odoo_export_reads_back_the_address_fields_it_writes():
    written = target_fields(load_stream("odoo", "tribe_customers"))
    assert {"street", "street2", "zip", "city", "country_id"} <= set(written)


def test_the_mapping_folder_has_streams():
    assert len(streams()) > 20 and Path(mappings_root()).is_dir()
