"""Per-integration settings: ``include/mappings/<integration>/settings.yaml``, overridable by the
Airflow Variable ``tribe_sync_<integration>_settings``, validated by a typed model before any
record moves.

The Variable is a JSON merge patch (RFC 7396) over the file: its maps *extend* the file's key by
key (``{"vat_map": {"NO12": "31"}}`` adds NO12 and keeps every other VAT group), a ``null``
removes a key, anything else replaces. ``"$replace": ["vat_map"]`` takes the listed keys (dotted
paths) from the Variable as they are, dropping the file's. ``settings_sources`` says where each
effective value comes from (the tribe-sync page shows it).

The core's keys are :class:`CoreSettings`; a system adds its own by a subclass
(``System.settings``). A key nobody declares, or a value of the wrong kind, fails the task at
once naming the key and where it came from — a misspelt ``invoice_mode: Bokked`` used to make
drafts without a word. What the steps read is the validated dict (defaults filled in).
"""
from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.filters import Condition
from tribe_operators.mapping.files import mappings_root

__all__ = ["REPLACE", "ConflictRules", "CoreSettings", "InvoiceScopeRule", "NumberMatchCheck", "ScopeSettings",
           "check_variable_patch", "is_configured", "load_settings", "merge_settings", "one_key_patch",
           "settings_sources", "stream_enabled", "variable_patch_text"]

REPLACE = "$replace"  # a Variable's list of keys it replaces whole instead of merging into


class ConflictRules(BaseModel):
    """Who wins a field changed on both sides since the last sync (``sync/load/conflicts.py``)."""

    model_config = ConfigDict(extra="forbid")

    default: str | None = None  # a side: ``tribe`` or the integration; None = the integration
    fields: dict[str, str] = Field(default_factory=dict)  # per-field exceptions
    accounting_leads: list[str] = Field(default_factory=list)  # always the accounting system's


class NumberMatchCheck(BaseModel):
    """A record matched by number alone (not its link or import id) whose name shares nothing
    meaningful with the target's is held, not applied (``dedupe/names.py``): numbers from two
    sequences (Tribe's own and the accounting system's) can meet."""

    model_config = ConfigDict(extra="forbid")

    check_names: bool = True
    min_name_similarity: float = Field(0.7, ge=0, le=1)  # the names as word sets (RapidFuzz token_set_ratio)
    min_word_similarity: float = Field(0.8, ge=0, le=1)  # the best pair of words (RapidFuzz ratio)


class ScopeSettings(BaseModel):
    """One legal entity / administration / division the integration serves."""

    model_config = ConfigDict(extra="forbid")

    conn_id: str | None = None  # its own connection (PowerOffice: a client key per company); None: the DAG's
    key: str | None = None  # its id inside the connection (an Odoo company id, an Exact division)
    title: str | None = None  # as people call it, for messages


class InvoiceScopeRule(BaseModel):
    """Which scope an invoice goes to: a field of the Tribe invoice (Tribe's "legal entity" in
    the invoice details), through ``map``, or ``default`` when the field is off or empty."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = None  # a dotted path on the Tribe invoice, e.g. LegalEntity.Code; None: always default
    map: dict[str, str] = Field(default_factory=dict)  # field value → scope; unlisted: the scope of that name
    default: str = "default"


class CoreSettings(BaseModel):
    """What every integration's settings may say."""

    model_config = ConfigDict(extra="forbid")

    enabled_streams: list[str] | None = None  # None: every stream, invoices and payments included
    load_concurrency: int = Field(4, ge=1, le=32)  # rows in flight per load task
    overlap_seconds: int = Field(300, ge=0, le=86_400)  # re-read before the watermark (late commits)
    conflicts: ConflictRules = Field(default_factory=ConflictRules)
    number_match: NumberMatchCheck = Field(default_factory=NumberMatchCheck)
    # The scopes this integration serves; each runs its payments (and any per-scope stream) apart,
    # with its own links, ledger, quarantine and watermarks.
    # Per stream, which records it reads at all (besides what its mapping says): conditions on
    # the source record, sent to the source's API where it can take them (mapping.filters).
    filters: dict[str, list[Condition]] = Field(default_factory=dict)
    # Tribe relationship type (Customer, Supplier, Prospect…) → the accounting system's codes for
    # it (Exact Online's account Status: C), both ways: an import stream with source.relation_type
    # reads the records carrying one of the codes, an export writes the first (transform relation_type).
    relation_types: dict[str, list[str]] = Field(default_factory=dict)
    # Tribe's webhook starts this integration's exports at once; off: only their safety poll.
    webhooks: bool = True
    scopes: dict[str, ScopeSettings] = Field(default_factory=lambda: {"default": ScopeSettings()})
    # Relations are synced once, in the default scope, and every scope's invoices name their
    # customers through those links (Odoo: the companies of one database share its partners).
    # Off: each scope has relations of its own (PowerOffice: a client per company).
    shared_relations: bool = False
    invoice_scope: InvoiceScopeRule = Field(default_factory=InvoiceScopeRule)

    @field_validator("conflicts", "invoice_scope", "number_match", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("scopes", mode="before")
    @classmethod
    def _empty_scope(cls, value: Any) -> Any:
        return {k: v or {} for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _known_scopes(self) -> CoreSettings:
        rule = self.invoice_scope
        for where, scope in [("invoice_scope.default", rule.default),
                             *((f"invoice_scope.map.{k}", v) for k, v in rule.map.items())]:
            if scope not in self.scopes:
                raise ValueError(f"{where}: {scope!r} is not one of the scopes ({', '.join(sorted(self.scopes))})")
        return self


def load_settings(integration: str) -> dict[str, Any]:
    """File settings, with the Variable merged in (read at run time, never at parse time),
    validated by the integration's model."""
    path, from_file, patch = _layers(integration)
    settings = merge_settings(from_file, patch)
    try:
        return _model(integration).model_validate(settings).model_dump()
    except ValidationError as exc:
        # A check across keys (model_validator) has no location; its message starts with the key.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"]
                             else str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        variable = settings_variable(integration)
        raise MappingConfigError(f"settings of {integration} ({path}{' + Variable ' + variable if patch else ''}): "
                                 f"{problems}") from exc


def merge_settings(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` (a Variable's JSON) over ``base`` (the file) as an RFC 7396 merge patch, after
    dropping from ``base`` the paths ``patch`` lists under ``$replace``; ``base`` is left as is."""
    import json_merge_patch

    merged = copy.deepcopy(base)
    patch = dict(patch)
    for path in patch.pop(REPLACE, None) or []:
        *parents, last = str(path).split(".")
        node: Any = merged
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return json_merge_patch.merge(merged, copy.deepcopy(patch))


def settings_sources(integration: str) -> list[dict[str, Any]]:
    """Every effective setting as ``{path, value, source}``: ``variable`` where the Variable set
    it, ``file`` where settings.yaml did, ``default`` where neither did (the model's default).
    Maps are listed key by key (``vat_map.NO25``), so a key the Variable added stands out."""
    _, from_file, patch = _layers(integration)
    effective = load_settings(integration)
    replaced = {str(p) for p in patch.get(REPLACE) or []}
    rows: list[dict[str, Any]] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, (*path, str(key)))
            return
        dotted = ".".join(path)
        if _has(patch, path) or any(dotted == r or dotted.startswith(r + ".") for r in replaced):
            source = "variable"
        else:
            source = "file" if _has(from_file, path) else "default"
        rows.append({"path": dotted, "value": value, "source": source})

    walk(effective, ())
    return rows


def one_key_patch(path: list[str], value: Any) -> dict[str, Any]:
    """The Variable patch that sets one key and keeps the rest: ``{"vat_map": {"NO12": "31"}}``."""
    patch: Any = value
    for part in reversed(path):
        patch = {part: patch}
    return patch


def variable_patch_text(integration: str, path: list[str], value: Any) -> str:
    """``one_key_patch`` as the JSON text a quarantine reason names."""
    return json.dumps(one_key_patch(path, value), ensure_ascii=False)


def check_variable_patch(integration: str, patch: dict[str, Any]) -> None:
    """Would the file with ``patch`` as its Variable make valid settings? Raises MappingConfigError."""
    _, from_file, _ = _layers(integration)
    try:
        _model(integration).model_validate(merge_settings(from_file, patch))
    except ValidationError as exc:
        raise MappingConfigError(f"settings of {integration} would not be valid: {exc.errors()[0]['msg']}") from exc


def _has(tree: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _layers(integration: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(the file's path, its settings, the Variable's patch) — each ``{}`` when absent."""
    path = mappings_root() / integration / "settings.yaml"
    from_file: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise MappingConfigError(f"{path}: settings must be a mapping")
        from_file = loaded
    variable = settings_variable(integration)
    override = _variable(variable)
    if not override:
        return path, from_file, {}
    try:
        patch = json.loads(override)
    except ValueError as exc:
        raise MappingConfigError(f"Variable {variable} is not valid JSON: {exc}") from exc
    if not isinstance(patch, dict):
        raise MappingConfigError(f"Variable {variable} must be a JSON object (settings keys), not {type(patch).__name__}")
    replace = patch.get(REPLACE)
    if replace is not None and not (isinstance(replace, list) and all(isinstance(p, str) for p in replace)):
        raise MappingConfigError(f"Variable {variable}: {REPLACE} must be a list of setting keys, e.g. [\"vat_map\"]")
    return path, from_file, patch


def settings_variable(integration: str) -> str:
    """The Airflow Variable whose JSON overrides the integration's settings file."""
    return f"tribe_sync_{integration}_settings"


def is_configured(integration: str) -> bool:
    """Has this integration a settings file (``include/mappings/<integration>/settings.yaml``)?
    A system without one is installed but not set up: nothing starts it."""
    return (mappings_root() / integration / "settings.yaml").exists()


def stream_enabled(settings: dict[str, Any], stream: str) -> bool:
    """Tribe's activation step 6: only the items enabled in General Settings sync.
    No ``enabled_streams`` key at all means everything is on."""
    enabled = settings.get("enabled_streams")
    return enabled is None or stream in enabled


def _model(integration: str) -> type[CoreSettings]:
    from tribe_operators.registry import systems

    system = systems().get(integration)
    return system.part("settings") if system is not None and system.settings else CoreSettings


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception:  # noqa: BLE001 - outside a task (unit tests) there is no Variable backend
        return None

