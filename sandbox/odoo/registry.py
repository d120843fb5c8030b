"""Models: ``ModelDef`` (fields, order, name search, company rule, hooks, extra methods) and the
per-version registry built from ``sandbox/odoo/models``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.odoo.fields import Field, field_defaults

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["Hooks", "ModelDef", "Registry", "build_registry"]


class Hooks:
    """Business rules of one model; the ORM calls these around its generic work."""

    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        """Fill computed defaults and check values before the row is inserted."""
        return vals

    def after_create(self, env: Env, ids: list[int]) -> None:
        """Side effects of new rows (recomputes, dependent records)."""

    def prepare_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        return vals

    def after_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        pass

    def before_unlink(self, env: Env, ids: list[int]) -> Callable[[], None] | None:
        """Refuse the deletion (raise) or return what to run once the rows are gone."""
        return None

    def constraints(self, env: Env, ids: list[int]) -> None:
        """Python constraints (``@api.constrains``): raise ValidationError."""

    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        value = row.get(model.rec_name) if model.rec_name else None
        return value if isinstance(value, str) and value else f"{model.name},{row['id']}"


@dataclass
class ModelDef:
    """One model. ``company_field`` names the field the multi-company record rule checks
    (``company_id``, or ``company_ids`` for shared accounts in 18+); ``company_shared`` lets rows
    without a company through (partners, products), as Odoo's default rules do."""

    name: str
    description: str
    fields: dict[str, Field]
    order: str = "id"
    rec_name: str | None = "name"
    rec_names_search: tuple[str, ...] = ()
    parent_name: str | None = None
    company_field: str | None = None
    company_shared: bool = False
    inherits: dict[str, str] = field(default_factory=dict)  # parent model -> link field (_inherits)
    transient: bool = False
    hooks: Hooks = field(default_factory=Hooks)
    methods: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = field_defaults()
        merged.update(self.fields)
        self.fields = {name: f.named(name) for name, f in merged.items()}

    @property
    def active_name(self) -> str | None:
        return "active" if "active" in self.fields else None

    @property
    def table(self) -> str:
        return self.name.replace(".", "_")


class Registry(dict[str, ModelDef]):
    """Model name -> definition, plus the reverse index of relations (for ondelete)."""

    def __init__(self, models: list[ModelDef]) -> None:
        super().__init__((m.name, m) for m in models)
        self._refs: dict[str, list[tuple[str, str, Field]]] = {}
        for model in models:
            for name, f in model.fields.items():
                if f.type in ("many2one", "many2many") and not f.is_computed and f.relation:
                    self._refs.setdefault(f.relation, []).append((model.name, name, f))

    def references(self, model: str) -> list[tuple[str, str, Field]]:
        """Stored many2one / many2many fields pointing at ``model``: (model, field name, field)."""
        return self._refs.get(model, [])


def build_registry(profile: VersionProfile) -> Registry:
    """All models of one server version."""
    from sandbox.odoo import payments, posting, reversal
    from sandbox.odoo.models import account, base, partner, product

    models: list[ModelDef] = []
    for module in (base, partner, product, account, posting, payments, reversal):
        models.extend(module.define(profile))
    return Registry(models)
