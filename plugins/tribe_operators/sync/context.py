"""Everything one step of one stream needs, built once per task."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tribe_operators.mapping.spec import StreamSpec
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.staging import Staging
from tribe_operators.store.watermarks import Cursors, Watermarks

__all__ = ["QUARANTINE_LOG_CAP", "StepContext", "is_backfill", "read_interval", "resolve_window"]

log = logging.getLogger(__name__)
QUARANTINE_LOG_CAP = 20  # quarantined records named one by one in a task's log; the rest are counted


@dataclass
class StepContext:
    engine: sa.Engine
    run_id: str
    spec: StreamSpec
    scope: str = "default"
    dag_id: str | None = None
    dry_run: bool = False
    attempt: int = 1  # Airflow's try_number: > 1 means an earlier attempt may have written
    window: tuple[datetime | None, datetime | None] = (None, None)
    # A date range someone chose (a manual run's from_date/to_date, a backfill's interval): a
    # source with a cursor reads that range by modification time instead, and leaves the cursor.
    explicit_window: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    retry_first: list[str] = field(default_factory=list)  # record ids a person asked to retry now
    # Lookup tables read in this task, by (system, set, key, value): the load step maps both
    # ways (conflict check, counterpart hashes) and reads each table once.
    _lookup_tables: dict[tuple[Any, ...], dict[str, str]] = field(default_factory=dict, repr=False)
    _quarantined: int = field(default=0, repr=False)  # records this task quarantined (or would, dry run)

    def quarantine_records(self, rows: Iterable[dict[str, Any]], *, system: str) -> int:
        """Quarantine ``rows`` of ``{record_id, field, reason, payload}`` (a dry run only reports
        them) and name each in the task log — stream, id, field, reason, never the payload — up
        to ``QUARANTINE_LOG_CAP`` per task; ``log_quarantine_tail`` counts the rest."""
        rows = list(rows)
        for row in rows:
            self._quarantined += 1
            if self._quarantined <= QUARANTINE_LOG_CAP:
                log.warning("%squarantined %s/%s %s%s: %s", "would be " if self.dry_run else "", self.integration,
                            self.spec.stream, row["record_id"], f" field {row['field']}" if row.get("field") else "",
                            row["reason"])
        if self.dry_run or not rows:
            return 0
        return self.quarantine.add(rows, system=system, stream=self.spec.stream, run_id=self.run_id)

    def log_quarantine_tail(self) -> None:
        """After a step: how many quarantined records the log did not name, and the total."""
        if self._quarantined > QUARANTINE_LOG_CAP:
            log.warning("… and %d more: %d record(s) of %s/%s quarantined in this task (all of them: the summary "
                        "task, the tribe-sync page)", self._quarantined - QUARANTINE_LOG_CAP, self._quarantined,
                        self.integration, self.spec.stream)

    def lookups(self, spec: StreamSpec, adapters: dict[str, Any]) -> dict[str, dict[str, str]]:
        """The lookup tables ``spec`` maps with, by their name in the spec."""
        tables = {}
        for name, lk in spec.lookups.items():
            key = (lk.system, lk.entity_set, lk.key, lk.value)
            if key not in self._lookup_tables:
                self._lookup_tables[key] = adapters[lk.system].lookup_table(lk.entity_set, lk.key, lk.value)
            tables[name] = self._lookup_tables[key]
        return tables

    def map_context(self, lookups: dict[str, dict[str, str]]) -> MapContext:
        """What this step's transforms may consult: lookup tables, settings, the links both ways."""
        links = self.links
        return MapContext(lookups=lookups, settings=self.settings, integration=self.integration,
                          links=lambda entity, tid: links.to_external(entity, tid),
                          internal=lambda entity, eid: links.to_internal(entity, eid))

    @property
    def integration(self) -> str:
        return self.spec.integration

    @property
    def staging(self) -> Staging:
        return Staging(self.engine, self.run_id, self.integration, self.spec.stream, self.scope)

    @property
    def links(self) -> LinkStore:
        return LinkStore(self.engine, self.integration, self.scope)

    @property
    def relation_links(self) -> LinkStore:
        """The links an invoice of this scope names its customer by: the default scope's when
        the settings share relations across scopes, else this scope's own."""
        return LinkStore(self.engine, self.integration, "default" if self.settings.get("shared_relations") else self.scope)

    @property
    def quarantine(self) -> Quarantine:
        return Quarantine(self.engine, self.integration, self.scope)

    @property
    def watermarks(self) -> Watermarks:
        return Watermarks(self.engine, self.integration, self.scope)

    @property
    def cursors(self) -> Cursors:
        return Cursors(self.engine, self.integration, self.scope)


def _run_type(context: Any) -> str:
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type))


def is_backfill(context: Any) -> bool:
    """Is this Airflow task context part of a backfill run? (Its window is then exact.)"""
    return _run_type(context) == "backfill"


def read_interval(context: Any) -> tuple[Any, Any]:
    """The interval a run reads changes in: a scheduled or backfill run its data interval; a
    manual run (the UI's Trigger, the REST API, a webhook) at least up to the moment it was
    triggered (``run_after``) — a person pressing Trigger means "sync now", not "the last interval that
    ended", and a retry of its tasks reads the same window."""
    from tribe_operators.timeutil import parse_timestamp

    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    triggered = getattr(context.get("dag_run"), "run_after", None)
    if _run_type(context) == "manual" and triggered is not None:
        # A logical date in the future (dag.test() playing a later run) keeps its interval end.
        end = triggered if end is None else max(parse_timestamp(end), parse_timestamp(triggered))
    return start, end


def resolve_window(watermark: datetime | None, interval: tuple[datetime | None, datetime | None],
                   *, from_date: datetime | None = None, to_date: datetime | None = None,
                   overlap: timedelta = timedelta(minutes=5), exact: bool = False,
                   now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """The ``(since, until]`` window of changes one run reads.

    * explicit ``from_date``/``to_date`` (a manual run's Params) win; a ``to_date`` in the future
      ends at ``now``, the moment the run reads (what it reads is all there is), so the
      watermark never moves past what was read;
    * ``exact`` (a backfill run): exactly the data interval, whatever the watermark says;
    * no watermark yet → the initial import: everything up to the interval's end;
    * otherwise from the earlier of watermark and interval start, minus an overlap (remote
      timestamps are set at transaction start, so a late commit can carry an older stamp).
    """
    from tribe_operators.timeutil import parse_timestamp

    # Every bound as an aware UTC datetime, whatever produced it (pendulum, DB, Params).
    watermark, from_date, to_date = (parse_timestamp(v) for v in (watermark, from_date, to_date))
    start, end = (parse_timestamp(v) for v in interval)
    if from_date is not None or to_date is not None:
        if to_date is not None:
            to_date = min(to_date, parse_timestamp(now) or datetime.now(UTC))
        return from_date, to_date or end
    if exact and start is not None:
        return start, end
    if watermark is None:
        return None, end
    since = min(watermark, start) if start is not None else watermark
    return since - overlap, end
