"""The tribe-sync page's answers to holds that no fix at the source settles.

* **map it** — records held for one code missing from a settings map (a Tribe VAT group NO12
  that ``vat_map`` lacks): the operator picks the target code; that one key is added to the
  integration's settings Variable (merged into the file's map key by key, never replacing it)
  and every open record held for that code is retried at once.
* **link anyway** / **create new** — a match by number whose names share nothing: the answer is
  kept (``match_decision``), dedupe follows it on this and every later run, and the record is
  retried.

Both run in Airflow's API server, as the user, behind the same permissions as Retry now.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.settings import (REPLACE, check_variable_patch, load_settings, merge_settings,
                                              one_key_patch, settings_variable)
from tribe_operators.store.match_decisions import CHOICES, MatchDecisions
from tribe_operators.store.schema import quarantine
from tribe_operators.ui.actions import ActionRefused, retry, retry_conf, start_as
from tribe_operators.ui.data import run_dag
from tribe_operators.webhooks.trigger import StartRun

__all__ = ["code_choices", "decide_match", "held_for_code", "map_code"]

_MAX_CODE = 60


def code_choices(integration: str, setting: str, *, reverse: bool = False) -> list[str]:
    """The codes the map already points at (``reverse``: its keys, the Tribe codes) — what an
    operator picks from; the page lets them type another."""
    node: Any = load_settings(integration)
    for part in setting.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return []
    return sorted({str(v) for v in (node.keys() if reverse else node.values())})


def held_for_code(engine: sa.Engine, integration: str, setting: str, code: str) -> list[dict[str, Any]]:
    """The open quarantine rows of ``integration`` held for ``code`` missing from ``setting``."""
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(sa.select(quarantine).where(
            quarantine.c.integration == integration, quarantine.c.resolved_at.is_(None),
            quarantine.c.action.is_not(None)))]
    return [r for r in rows if isinstance(r["action"], dict) and r["action"].get("kind") == "unmapped_code"
            and r["action"].get("setting") == setting and r["action"].get("code") == code]


def map_code(engine: sa.Engine, integration: str, setting: str, code: str, target: str, user: Any, *,
             start_run: StartRun | None = None) -> dict[str, Any]:
    """Add ``code → target`` to ``setting`` in the settings Variable and retry every record held
    for it; returns ``{variable, added, runs}``.

    Raises:
        ActionRefused: nothing is held for that code, the target is empty or too long, the
            Variable is set outside the database, or the settings would not be valid.
    """
    held = held_for_code(engine, integration, setting, code)
    if not held:
        raise ActionRefused(f"no open record of {integration} is held for {code!r} missing from {setting}")
    target = str(target or "").strip()
    if not target or len(target) > _MAX_CODE:
        raise ActionRefused(f"pick the code {code!r} maps to (1 to {_MAX_CODE} characters)")
    reverse = bool(held[0]["action"].get("reverse"))
    key, value = (target, code) if reverse else (code, target)  # maps are written Tribe → accounting
    variable = settings_variable(integration)
    addition = one_key_patch([*setting.split("."), key], value)
    _write_variable(integration, variable, addition)
    name = user if isinstance(user, str) else user.get_name()
    return {"variable": variable, "added": addition, "runs": _retry_all(engine, held, user, name, start_run)}


def decide_match(engine: sa.Engine, row: dict[str, Any], choice: str, user: Any, *,
                 start_run: StartRun | None = None) -> dict[str, Any]:
    """Keep a person's answer to a match by number held for its names, then retry the record;
    returns ``{dag_id, run_id, how, choice}``."""
    action = row.get("action") or {}
    if row["resolved_at"] is not None:
        raise ActionRefused(f"{row['stream']} {row['record_id']} is not in quarantine any more")
    if action.get("kind") != "number_match":
        raise ActionRefused(f"{row['stream']} {row['record_id']} is not held for a match by number")
    if choice not in CHOICES:
        raise ActionRefused(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}")
    name = user if isinstance(user, str) else user.get_name()
    MatchDecisions(engine, row["integration"], row["scope"]).decide(
        action["entity_set"], row["record_id"], choice, action.get("target_id"), name)
    return {**retry(engine, row, user, start_run=start_run), "choice": choice}


def _write_variable(integration: str, variable: str, addition: dict[str, Any]) -> None:
    """Merge ``addition`` into the Variable's JSON (created if missing), after checking that the
    settings it makes are valid."""
    from airflow.models.variable import Variable  # core model: the API server has the database

    if f"AIRFLOW_VAR_{variable.upper()}" in os.environ:
        raise ActionRefused(f"the Variable {variable} is set by the environment (AIRFLOW_VAR_{variable.upper()}); "
                            f"add {json.dumps(addition)} there")
    current = Variable.get(variable, default_var=None)
    try:
        patch = json.loads(current) if current else {}
    except ValueError as exc:
        raise ActionRefused(f"the Variable {variable} is not valid JSON ({exc}); fix it first") from exc
    if not isinstance(patch, dict):
        raise ActionRefused(f"the Variable {variable} is not a JSON object; fix it first")
    replaced = patch.get(REPLACE)
    merged = merge_settings(patch, addition)
    if replaced is not None:
        merged[REPLACE] = replaced
    try:
        check_variable_patch(integration, merged)
    except MappingConfigError as exc:
        raise ActionRefused(str(exc)) from exc
    Variable.set(variable, json.dumps(merged, ensure_ascii=False, indent=2),
                 description=f"tribe-sync {integration} settings over include/mappings/{integration}/settings.yaml "
                             f"(merged key by key; last changed by the page's 'map it', {datetime.now(UTC):%Y-%m-%d})")


def _retry_all(engine: sa.Engine, rows: list[dict[str, Any]], user: Any, name: str,
               start_run: StartRun | None) -> list[dict[str, Any]]:
    """Invoices one by one (each in its own run where it can be cleared: Retry now); a stream's
    records in one new run per DAG."""
    runs: list[dict[str, Any]] = []
    per_dag: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["stream"] == "invoices":
            runs.append(retry(engine, row, user, start_run=start_run))
            continue
        dag_id = run_dag(engine, row["run_id"])
        if dag_id is not None:
            per_dag[dag_id][row["stream"]].append(row["record_id"])
    start = start_run or start_as(name)
    for dag_id, records in per_dag.items():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        conf = {**retry_conf({"stream": "", "record_id": ""}), "retry_records": dict(records)}
        runs.append({"dag_id": dag_id, "run_id": start(dag_id, f"retry__mapped_code__{stamp}", conf), "how": "new run"})
    return runs
