"""Wiring shared by the DAG files: one task group (extract → map → dedupe → load) per stream."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, TaskGroup

from tribe_operators.operators import DedupeOperator, ExtractOperator, LoadOperator, MapOperator
from tribe_operators.pools import api_pool, step_pool

__all__ = ["SCOPE_LABEL", "dag_settings", "dry_run_param", "export_relation_groups", "import_relation_groups",
           "invoice_export_tasks", "invoice_params", "party_groups", "payment_tasks", "scoped_import", "stream_group",
           "webhook_express", "window_params"]

# A mapped task's label: its scope and what the settings call it ("nl · 100001 Tribe Demo B.V.";
# ``SyncOperator`` puts ``scope_label`` in the context), the scope's name if it stopped before.
SCOPE_LABEL = "{{ scope_label | default(task.scope) }}"


def dry_run_param(what: str = "Report what would change; write nothing.") -> Param:
    """The ``dry_run`` Param every sync DAG offers."""
    return Param(False, type="boolean", description=what)


def window_params(changes: str) -> dict[str, Param]:
    """``from_date`` / ``to_date`` / ``dry_run`` of a stream DAG; ``changes`` says whose changes
    ("PowerOffice", "Tribe") a manual run reads from ``from_date``."""
    return {
        "from_date": Param(None, type=["null", "string"], format="date-time",
                           description=f"Read {changes} changes from this moment (initial import); "
                                       "empty = from where the last run stopped."),
        "to_date": Param(None, type=["null", "string"], format="date-time",
                         description="…up to this moment; empty = now (the moment you press Trigger)."),
        "dry_run": dry_run_param(),
    }


def dag_settings(*, tags: list[str], doc_md: str | None, retries: int = 2,
                 retry_delay: timedelta = timedelta(minutes=1), **extra: Any) -> dict[str, Any]:
    """What every sync DAG shares: one run at a time, no catch-up, an owner, retries, docs.

    The retries are for what may pass (a 5xx, a dropped connection); a configuration fault fails
    its task on the first try (``operators.base.fails_fast``). The schedule stays explicit in each
    DAG file, where a reader looks for it.
    """
    return {
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {"owner": "tribe-sync", "retries": retries, "retry_delay": retry_delay,
                         "retry_exponential_backoff": True},
        "tags": ["tribe-sync", *tags],
        "doc_md": doc_md,
        **extra,
    }


def stream_group(integration: str, stream: str, *, dedupe_trigger_rule: str = "all_success", **common: Any) -> TaskGroup:
    """A ``TaskGroup`` named after the stream; ``common`` goes to every operator. Each task
    runs in the pool of the system it talks to (``tribe_operators.pools.step_pool``)."""
    with TaskGroup(group_id=stream, tooltip=f"{integration} {stream}") as group:
        def pool(step: str) -> str:
            return step_pool(integration, stream, step)

        # none_failed: a stream switched off in settings (skipped) must not skip the next one.
        extract = ExtractOperator(task_id="extract", integration=integration, stream=stream,
                                  from_date="{{ params.from_date }}", to_date="{{ params.to_date }}",
                                  trigger_rule="none_failed", pool=pool("extract"), **common)
        mapped = MapOperator(task_id="map", integration=integration, stream=stream, pool=pool("map"), **common)
        deduped = DedupeOperator(task_id="dedupe", integration=integration, stream=stream, pool=pool("dedupe"),
                                 trigger_rule=dedupe_trigger_rule, **common)
        loaded = LoadOperator(task_id="load", integration=integration, stream=stream, pool=pool("load"), **common)
        extract >> mapped >> deduped >> loaded
    return group


def party_groups(integration: str, streams: list[str], **common: Any) -> list[TaskGroup]:
    """Task groups for streams that are roles of one contact (the mapping's ``party``:
    customers and suppliers). A contact is resolved with the keys of all its roles, so every
    role is read and mapped before any role's dedupe; then the roles decide and load one after
    the other, each seeing the links the one before bound. A role switched off in the settings
    (skipped) does not stop the others."""
    groups = [stream_group(integration, s, dedupe_trigger_rule="none_failed", **common) for s in streams]
    maps = [group.children[f"{group.group_id}.map"] for group in groups]
    previous = None
    for group in groups:
        dedupe = group.children[f"{group.group_id}.dedupe"]
        for mapped in maps:
            if mapped.task_id not in dedupe.upstream_task_ids:
                mapped >> dedupe
        if previous is not None:
            previous >> dedupe
        previous = group.children[f"{group.group_id}.load"]
    return groups


def scoped_import(integration: str, streams: list[str], *, group_id: str = "division", **common: Any) -> Any:
    """The import, once per scope of the settings (a mapped task group over
    ``ListScopesOperator``): in each, the relations (``import_relation_groups``), then ``streams``
    one after the other (``["product_groups", "products"]``: a product refers to its group's
    link), then the source's deletion log (``forget_deleted``: links of deleted records dropped;
    skipped for a source that keeps none). Every task of a scope reads, links, stages and counts
    in that scope only, so a record never crosses scopes; a webhook run (``conf["scope"]``) runs
    its scope alone. Returns the mapped group (the summary goes after it)."""
    from airflow.sdk import task_group

    from tribe_operators.operators.deletions import ForgetDeletedOperator
    from tribe_operators.operators.scopes import ListScopesOperator

    scopes = ListScopesOperator(task_id="scopes", integration=integration)

    @task_group(group_id=group_id, tooltip=f"{integration}: one per scope of its settings")
    def per_scope(scope: Any) -> None:
        kwargs = {**common, "scope": scope, "map_index_template": SCOPE_LABEL}
        previous: Any = import_relation_groups(integration, **kwargs)
        for stream in streams:  # one after the other: they share the scope's API budget
            group = stream_group(integration, stream, **kwargs)
            previous >> group
            previous = group
        previous >> ForgetDeletedOperator(task_id="forget_deleted", integration=integration, trigger_rule="none_failed",
                                          pool=api_pool(integration), **kwargs)

    return per_scope.expand(scope=scopes.output)


def import_relation_groups(integration: str, **common: Any) -> list[TaskGroup]:
    """Relations into Tribe, as every accounting system has them: customers and suppliers (one
    contact in both roles is one organisation, resolved together), then the contacts (they hang
    under their organisation's link) and the individual customers. Returns the last groups."""
    _, suppliers = party_groups(integration, ["customers", "suppliers"], **common)
    rest = [stream_group(integration, s, **common) for s in _mapped(integration, "contacts", "persons")]
    suppliers >> rest  # the customers' load comes before the suppliers'
    return rest


def export_relation_groups(integration: str, **common: Any) -> list[TaskGroup]:
    """Relations out of Tribe: customer and supplier organisations (resolved together when the
    mapping says both roles are one target record), then their contacts (created under them),
    and the individual customers. Returns the last groups."""
    from tribe_operators.mapping.spec import load_stream

    streams = ["tribe_customers", "tribe_suppliers"]
    if load_stream(integration, streams[0]).party:  # one target record for both roles (an Odoo partner)
        organisations = party_groups(integration, streams, **common)
    else:  # a record per role (PowerOffice's customers and suppliers): side by side
        organisations = [stream_group(integration, s, **common) for s in streams]
    contacts = stream_group(integration, "tribe_contacts", **common)
    organisations >> contacts
    return [contacts, *(stream_group(integration, s, **common) for s in _mapped(integration, "tribe_persons"))]


def _mapped(integration: str, *streams: str) -> list[str]:
    """The streams the integration has a mapping for (Exact Online has no individual customers:
    every relation is an account)."""
    from tribe_operators.mapping.files import mappings_root

    return [s for s in streams if (mappings_root() / integration / f"{s}.yaml").is_file()]


def webhook_express(dag: Any, integration: str) -> Any:
    """The ``express`` task of an export DAG's webhook runs (``operators.express``): after every
    stream's extract, with the trigger rule ``all_skipped``, so in any other run it is skipped
    without a process. It talks to Tribe and the system: the scarcer pool of the two. Put it
    before the summary (``webhook_express(dag, "odoo") >> summary``)."""
    from tribe_operators.operators.express import EXPRESS_TASK, ExpressOperator, step_tasks
    from tribe_operators.pools import api_pool

    extracts = [dag.get_task(t) for t in step_tasks(dag.task_ids) if t.endswith(".extract")]
    express = ExpressOperator(task_id=EXPRESS_TASK, integration=integration, pool=api_pool(integration, "tribe"),
                              doc_md="A webhook run's streams, all four steps in this one task "
                                     "(their own tasks are skipped from the start).")
    extracts >> express
    return express


def invoice_params() -> dict[str, Param]:
    """What a person (or Tribe's webhook) may narrow an invoice export run to."""
    return {"invoice_numbers": Param([], type="array",
                                     title="Invoice numbers",
                                     description="Only these invoices, by the number Tribe, the task labels and the "
                                                 "errors show (e.g. 10001). Empty = every Sent invoice not yet "
                                                 "exported."),
            "invoice_ids": Param([], type="array", title="Tribe invoice ids",
                                 description="Only these Tribe invoice GUIDs (what Tribe's webhook sends)."),
            "dry_run": dry_run_param("Map and report; create nothing.")}


def invoice_export_tasks(integration: str) -> Any:
    """Find the Sent invoices, then one mapped task per invoice (named by its number), then the
    summary. The export reads from Tribe and writes to the accounting system: the scarcer pool
    of the two (a mapped task's pool goes in partial())."""
    from tribe_operators.operators import SummaryOperator
    from tribe_operators.operators.invoices import ExportInvoiceOperator, FindSentInvoicesOperator
    from tribe_operators.pools import api_pool

    find = FindSentInvoicesOperator(task_id="find_sent_invoices", integration=integration,
                                    invoice_ids="{{ params.invoice_ids }}",
                                    invoice_numbers="{{ params.invoice_numbers }}", dry_run="{{ params.dry_run }}",
                                    pool=api_pool("tribe"))
    export = ExportInvoiceOperator.partial(
        task_id="export_invoice", integration=integration, map_index_template="invoice {{ invoice_label }}",
        dry_run="{{ params.dry_run }}", max_active_tis_per_dag=4, pool=api_pool("tribe", integration),
    ).expand(invoice=find.output)
    return export >> SummaryOperator(task_id="summary")


def payment_tasks(integration: str) -> Any:
    """One mapped payment sync per legal entity of the settings (each its own connection,
    ledger, watermark and counts); it reads the accounting system and marks Tribe."""
    from tribe_operators.operators.payments import SyncPaymentsOperator
    from tribe_operators.operators.scopes import ListScopesOperator
    from tribe_operators.pools import api_pool

    scopes = ListScopesOperator(task_id="scopes", integration=integration)
    return SyncPaymentsOperator.partial(
        task_id="sync_payments", integration=integration, dry_run="{{ params.dry_run }}",
        map_index_template="{{ scope_name }}", pool=api_pool(integration, "tribe"),
    ).expand(scope=scopes.output)
