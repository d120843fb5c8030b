"""Per-integration settings: ``include/mappings/<integration>/settings.yaml``, overridable by the
Airflow Variable ``tribe_sync_<integration>_settings`` (JSON, merged over the file)."""
from __future__ import annotations

import json
from typing import Any

import yaml

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.spec import mappings_root

__all__ = ["load_settings", "stream_enabled"]


def load_settings(integration: str) -> dict[str, Any]:
    """File settings, with the Variable's keys on top (read at run time, never at parse time)."""
    path = mappings_root() / integration / "settings.yaml"
    settings: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise MappingConfigError(f"{path}: settings must be a mapping")
        settings.update(loaded)
    override = _variable(f"tribe_sync_{integration}_settings")
    if override:
        try:
            settings.update(json.loads(override))
        except ValueError as exc:
            raise MappingConfigError(f"Variable tribe_sync_{integration}_settings is not valid JSON: {exc}") from exc
    return settings


def stream_enabled(settings: dict[str, Any], stream: str) -> bool:
    """Seed, activation step 6: only the items enabled in General Settings sync.
    No ``enabled_streams`` key at all means everything is on."""
    enabled = settings.get("enabled_streams")
    return enabled is None or stream in enabled


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception:  # noqa: BLE001 - outside a task (unit tests) there is no Variable backend
        return None
