"""The scopes (legal entities, divisions) an integration serves, for tasks mapped per scope."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

__all__ = ["ListScopesOperator"]


class ListScopesOperator(BaseOperator):
    """Return the names of the integration's ``scopes`` (its settings, Variable merged), so a
    stream runs as one mapped task per scope: ``.partial(...).expand(scope=scopes.output)``.
    XCom carries the names only; each mapped task reads its scope's settings itself.

    Args:
        integration: Whose settings.
    """

    template_fields: Sequence[str] = ("integration",)

    def __init__(self, *, integration: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration

    def execute(self, context: Any) -> list[str]:
        from tribe_operators.mapping.settings import load_settings

        scopes = sorted(load_settings(self.integration)["scopes"])
        self.log.info("%s serves %d scope(s): %s", self.integration, len(scopes), ", ".join(scopes))
        return scopes
