"""The shape of a public model method: ``Records`` (env + model + ids) and the markers Odoo's
``@api.model`` / ``@api.readonly`` put on methods (they decide how RPC arguments bind)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["Records", "model", "readonly"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Records:
    """What a method receives as ``self``: an env, a model and (for record methods) ids."""

    env: Env
    model: ModelDef
    ids: list[int]

    @property
    def name(self) -> str:
        return self.model.name

    def with_ids(self, ids: list[int]) -> Records:
        return Records(self.env, self.model, list(ids))


def model(fn: F) -> F:
    """``@api.model``: no ids; every RPC positional argument binds to the parameters."""
    fn._api_model = True  # type: ignore[attr-defined]
    return fn


def readonly(fn: F) -> F:
    """The method only reads: it runs on a read-only cursor, so it cannot hit a serialization
    failure (the simulator injects those only into writing calls)."""
    fn._readonly = True  # type: ignore[attr-defined]
    return fn


def is_model_method(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, "_api_model", False))


def is_readonly(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, "_readonly", False))
