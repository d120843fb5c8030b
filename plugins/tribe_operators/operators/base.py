"""What every sync operator shares: the link database, the scope, dry-run, a StepContext."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from tribe_operators import notices
from tribe_operators.exceptions import FatalError
from tribe_operators.mapping.settings import load_settings
from tribe_operators.mapping.spec import load_stream
from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.sync.context import StepContext

__all__ = ["PreviewContext", "PreviewLinks", "SyncOperator", "TribeOperator", "fails_fast", "scope_label"]


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"true", "1", "yes"}


def fails_fast(execute: Callable[..., Any]) -> Callable[..., Any]:
    """``execute``, with a configuration fault failing the task at once.

    A ``FatalError`` (a connection field unknown, missing or malformed; a setting or mapping that
    does not hold; credentials refused) or a connection that does not exist is the same on every
    try: Airflow's retries would only delay the red run by minutes. It becomes
    ``AirflowFailException`` (failed, no retry), one line naming what to fix, which the task also
    leaves for its run's note (``notices``); so do the deprecated names a hook still accepted.
    """
    if getattr(execute, "__fails_fast__", False):
        return execute

    @functools.wraps(execute)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> Any:
        context = args[0] if args else kwargs.get("context")
        notices.drain_warnings()  # an earlier task's, in a process that runs several (dag.test)
        try:
            return execute(self, *args, **kwargs)
        except (FatalError, AirflowNotFoundException) as exc:
            what = " ".join(str(exc).split())
            notices.leave(context, notices.FAILED_KEY, what)
            self.log.error("configuration: %s — no retry can fix this: fix it, then clear the task", what)
            raise AirflowFailException(f"configuration: {what}").with_traceback(exc.__traceback__) from None
        finally:
            if found := notices.drain_warnings():
                notices.leave(context, notices.WARNINGS_KEY, found)

    wrapper.__fails_fast__ = True  # type: ignore[attr-defined]
    return wrapper


class TribeOperator(BaseOperator):
    """Base of every tribe-sync operator: each one's ``execute`` fails fast on configuration
    (:func:`fails_fast`), however a subclass names or overrides it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "execute" in cls.__dict__:  # wraps Airflow's ExecutorSafeguard, which its metaclass put there
            cls.execute = fails_fast(cls.__dict__["execute"])  # type: ignore[method-assign]


class SyncOperator(TribeOperator):
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

    @property
    def is_dry_run(self) -> bool:
        """``dry_run`` as rendered (a template gives text: "True", "false")."""
        return _truthy(self.dry_run)

    def step_context(self, context: Any, integration: str, stream: str) -> StepContext:
        """A ``StepContext`` for this task instance (its run, its try, the stream's mapping)."""
        ti = context["ti"]
        settings = load_settings(integration)
        context["scope_label"] = scope_label(self.scope, settings)  # a mapped task's label (map_index_template)
        # A dry run (the initial import's preview) sees the links its earlier streams would bind.
        return (PreviewContext if _truthy(self.dry_run) else StepContext)(
                           engine=engine_for(self.db_conn_id), run_id=context["run_id"],
                           spec=load_stream(integration, stream), scope=self.scope, dag_id=ti.dag_id,
                           dry_run=_truthy(self.dry_run), attempt=int(getattr(ti, "try_number", 1) or 1),
                           settings=settings)


def scope_label(scope: str, settings: dict[str, Any]) -> str:
    """"nl · 100001 Tribe Demo B.V." — a scope as a person finds it in the accounting system."""
    found = (settings.get("scopes") or {}).get(scope) or {}
    named = " ".join(str(found[k]) for k in ("key", "title") if found.get(k))
    return f"{scope} · {named}" if named else str(scope)


class PreviewLinks(LinkStore):
    """The links of a scope as a dry run sees them: the bound ones, and those this run's
    earlier streams would bind — each record their dedupe decided, to its match or, for a
    create, to ``new:<source id>`` (no Tribe id yet). So a dry run's suppliers see the
    customers' organisations and its contacts their organisation, as the import will: its
    counts are the import's. Nothing is ever bound (a dry run's load writes nothing)."""

    def _decided(self, entity: str, external_ids: Iterable[str]) -> dict[str, Link]:
        from tribe_operators.store.schema import staging

        ids = [str(i) for i in external_ids]
        if not ids:
            return {}
        streams = _streams(self.integration, entity)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(staging.c.source_id, staging.c.decision, staging.c.target_id).where(
                staging.c.run_id == self.run_id, staging.c.integration == self.integration,
                staging.c.scope == self.scope, staging.c.stream.in_(streams), staging.c.status == "decided",
                staging.c.source_id.in_(ids))).all()
        return {r.source_id: Link(entity=entity, external_id=r.source_id,
                                  tribe_id=r.target_id if r.decision != "create" else f"new:{r.source_id}")
                for r in rows if r.decision in ("create", "update", "link", "skip")}

    def links_by_external(self, entity: str, external_ids: Iterable[str]) -> dict[str, Link]:
        ids = [str(i) for i in external_ids]
        bound = super().links_by_external(entity, ids)
        return {**self._decided(entity, [i for i in ids if i not in bound]), **bound}

    def to_internal(self, entity: str, external_id: str) -> str | None:
        link = self.links_by_external(entity, [external_id]).get(str(external_id))
        return link.tribe_id if link else None

    def bulk_to_external(self, entity: str, tribe_ids: Iterable[str]) -> dict[str, str]:
        ids = [str(i) for i in tribe_ids]
        found = super().bulk_to_external(entity, ids)
        from tribe_operators.store.schema import staging

        streams = _streams(self.integration, entity)
        rest = [i for i in ids if i not in found]
        if rest:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(staging.c.target_id, staging.c.source_id).where(
                    staging.c.run_id == self.run_id, staging.c.integration == self.integration,
                    staging.c.scope == self.scope, staging.c.stream.in_(streams), staging.c.status == "decided",
                    staging.c.decision.in_(("update", "link")), staging.c.target_id.in_(rest))).all()
            found.update({r.target_id: r.source_id for r in rows})
        return found


def _streams(integration: str, entity: str) -> list[str]:
    """The import streams that bind ``entity`` links (an export run's decisions are Tribe → system)."""
    from tribe_operators.mapping.files import stream_names

    names = stream_names(integration)
    return [n for n in names if (spec := load_stream(integration, n)).direction == "import"
            and spec.target.link_entity == entity]


@dataclass
class PreviewContext(StepContext):
    """A dry run's ``StepContext``: an import's links are ``PreviewLinks``."""

    @property
    def links(self) -> LinkStore:
        if self.spec.direction != "import":  # an export's dry run: the bound links only
            return LinkStore(self.engine, self.integration, self.scope)
        store = PreviewLinks(self.engine, self.integration, self.scope)
        store.run_id = self.run_id  # type: ignore[attr-defined]
        return store
