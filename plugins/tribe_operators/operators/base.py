"""What every sync operator shares: the link database, the scope, dry-run, a StepContext."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from tribe_operators.mapping.settings import load_settings
from tribe_operators.mapping.spec import load_stream
from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for
from tribe_operators.sync.context import StepContext

__all__ = ["SyncOperator"]


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"true", "1", "yes"}


class SyncOperator(BaseOperator):
    """Base of every operator that syncs one stream of one integration.

    Args:
        db_conn_id: The link database connection.
        scope: Administration / legal entity within the integration.
        dry_run: Compute and report, write nothing (templated, e.g. ``{{ params.dry_run }}``).
    """

    template_fields: Sequence[str] = ("db_conn_id", "scope", "dry_run")

    def __init__(self, *, db_conn_id: str = DEFAULT_CONN_ID, scope: str = "default", dry_run: Any = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db_conn_id = db_conn_id
        self.scope = scope
        self.dry_run = dry_run

    def step_context(self, context: Any, integration: str, stream: str) -> StepContext:
        """A ``StepContext`` for this task instance (its run, its try, the stream's mapping)."""
        ti = context["ti"]
        return StepContext(engine=engine_for(self.db_conn_id), run_id=context["run_id"],
                           spec=load_stream(integration, stream), scope=self.scope, dag_id=ti.dag_id,
                           dry_run=_truthy(self.dry_run), attempt=int(getattr(ti, "try_number", 1) or 1),
                           settings=load_settings(integration))
