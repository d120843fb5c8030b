"""The base behaviour of an entity set (read rows, create, update, delete) that domain modules
refine: required fields, references, derived fields, numbering.

``Ctx`` is what a rule needs from the request: the state, the division, the user and the
absolute API base (``https://host/api/v1/{division}``) for links.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.exact.entities import SPECS, EntitySpec
from sandbox.exact.errors import INVALID_REFERENCE, ExactError
from sandbox.exact.values import from_json

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["Ctx", "Rules", "mandatory", "reference"]


@dataclass
class Ctx:
    state: ExactState
    division: int
    api_base: str
    headers: dict[str, str]
    client_id: str = ""

    @property
    def host(self) -> str:
        """``https://host``: the start of ``api_base``, for links outside the REST root."""
        return self.api_base.rsplit("/api/v1/", 1)[0]

    @property
    def user(self) -> dict[str, Any]:
        return self.state.user

    def table(self, path: str) -> dict[Any, dict[str, Any]]:
        return self.state.store.table(self.division, path)

    def spec(self, path: str) -> EntitySpec:
        return SPECS[path.lower()]


def mandatory(values: dict[str, Any], *names: str) -> None:
    """400 for the first required field that is missing or empty. [INFER] the wording."""
    for name in names:
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            raise ExactError(400, f"Verplicht veld ontbreekt: {name}")


def reference(ctx: Ctx, path: str, key: Any, what: str) -> dict[str, Any]:
    """The referenced row, or Exact's "Ongeldige referentie" 400."""
    row = ctx.table(path).get(key) if key is not None else None
    if row is None:
        raise ExactError(400, INVALID_REFERENCE.format(what=what))
    return row


def by_code(ctx: Ctx, path: str, code: Any) -> dict[str, Any] | None:
    wanted = str(code or "").strip().casefold()
    for row in ctx.table(path).values():
        if str(row.get("Code") or "").strip().casefold() == wanted:
            return row
    return None


class Rules:
    """Plain storage: every writable field, a new GUID key, no references checked."""

    def rows(self, ctx: Ctx, spec: EntitySpec) -> list[dict[str, Any]]:
        rows = [self.view(ctx, row) for row in ctx.state.store.table(ctx.division, spec).values()]
        if spec.kind == "sync":
            return [dict(row, Timestamp=row["_ts"]) for row in rows]
        return rows

    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        """A stored row as read (rules fill derived fields here, so they never go stale)."""
        return row

    def writable(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for name, raw in body.items():
            if name == "__metadata":
                continue
            typ = spec.fields.get(name)
            if typ is None:
                raise ExactError(400, f"Error processing request stream. The property name '{name}' specified for "
                                      f"type '{spec.type_name}' is not valid.")
            if typ == "n":
                values[name] = raw
            elif name not in spec.readonly:  # [INFER] read-only fields are ignored, not refused
                values[name] = from_json(name, typ, raw, ctx.state.options.timezone)
        return values

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        return ctx.state.store.insert(ctx.division, spec, values, ctx.user)

    def update(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any], body: dict[str, Any]) -> None:
        values = self.writable(ctx, spec, body)
        values.pop(spec.key, None)
        ctx.state.store.update(ctx.division, spec, row, values, ctx.user)

    def delete(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any]) -> None:
        ctx.state.store.delete(ctx.division, spec, row[spec.key], ctx.user)

    def children(self, ctx: Ctx, spec: EntitySpec, nav: str, row: dict[str, Any]) -> list[dict[str, Any]]:
        target_path, foreign = spec.navs[nav]
        target = ctx.spec(target_path)
        from sandbox.exact.registry import rules_for
        return [r for r in rules_for(target).rows(ctx, target) if r.get(foreign) == row[spec.key]]
