"""Wiring shared by the DAG files: one task group (extract → map → dedupe → load) per stream."""
from __future__ import annotations

from typing import Any

from airflow.sdk import TaskGroup

from tribe_operators.operators import DedupeOperator, ExtractOperator, LoadOperator, MapOperator

__all__ = ["stream_group"]



def stream_group(integration: str, stream: str, **common: Any) -> TaskGroup:
    """A ``TaskGroup`` named after the stream; ``common`` goes to every operator."""
    with TaskGroup(group_id=stream, tooltip=f"{integration} {stream}") as group:
        extract = ExtractOperator(task_id="extract", integration=integration, stream=stream,
                                  from_date="{{ params.from_date }}", to_date="{{ params.to_date }}", **common)
        mapped = MapOperator(task_id="map", integration=integration, stream=stream, **common)
        deduped = DedupeOperator(task_id="dedupe", integration=integration, stream=stream, **common)
        loaded = LoadOperator(task_id="load", integration=integration, stream=stream, **common)
        extract >> mapped >> deduped >> loaded
    return group
