"""Forget records a source deleted (its links), for sources that log deletions."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from tribe_operators.operators.base import SyncOperator, scope_label

__all__ = ["ForgetDeletedOperator"]


class ForgetDeletedOperator(SyncOperator):
    """Read the integration's deletion log after its cursor and drop the links of the deleted
    records of every enabled import stream (``sync.deletions``); Tribe's records stay. A
    source without a deletion log skips; a spent daily budget skips too (the cursor stays).

    Args:
        integration: Whose import streams and settings (its system is the source).
        conn_id: The source's connection (default: the system's, or the scope's own).
    """

    template_fields: Sequence[str] = (*SyncOperator.template_fields, "integration", "conn_id")
    ui_color = "#f3ecfb"

    def __init__(self, *, integration: str, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration
        self.conn_id = conn_id

    def execute(self, context: Any) -> dict[str, int]:
        from tribe_operators.exceptions import BudgetExhaustedError
        from tribe_operators.mapping.files import stream_names
        from tribe_operators.mapping.settings import load_settings, stream_enabled
        from tribe_operators.mapping.spec import load_stream
        from tribe_operators.protocols import DeletionSource
        from tribe_operators.registry import get_system
        from tribe_operators.store.engine import engine_for
        from tribe_operators.sync.deletions import forget_deleted

        settings = load_settings(self.integration)
        context["scope_label"] = scope_label(self.scope, settings)
        scope = (settings.get("scopes") or {}).get(self.scope)
        source = get_system(self.integration).adapter("source", self.conn_id,
                                                      {**scope, "name": self.scope} if scope else None, settings)
        if not isinstance(source, DeletionSource):
            raise AirflowSkipException(f"{self.integration} keeps no log of deletions")
        specs = [load_stream(self.integration, name) for name in stream_names(self.integration)]
        streams = [s for s in specs if s.direction == "import" and s.source.system == self.integration
                   and stream_enabled(settings, s.stream)]
        try:
            counts = forget_deleted(engine_for(self.db_conn_id), self.integration, self.scope, source, streams,
                                    run_id=context["run_id"], dry_run=self.is_dry_run)
        except BudgetExhaustedError as exc:
            raise AirflowSkipException(f"{exc}; the deletion log is read from the same place next time") from exc
        self.log.info("%s deletions read after cursor: %d; links dropped: %d%s", self.integration, counts["deleted"],
                      counts["unlinked"], " (dry run: none dropped)" if self.is_dry_run else "")
        return counts
