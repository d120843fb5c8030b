"""Cron schedules that say their timezone where Airflow shows them.

Airflow's DAG list shows a timetable's ``summary`` (for a cron timetable: the bare expression,
``0 2 * * *``) with its ``description`` as the tooltip ("At 02:00"), next to dates in the UI's
own timezone (UTC unless the user picks another): Odoo's nightly run at 02:00 Amsterdam time
read as 02:00 UTC. These subclasses of Airflow's cron timetables keep every scheduling rule and
change only those two strings: summary "At 02:00, Europe/Amsterdam", description "At 02:00,
Europe/Amsterdam time (cron 0 2 * * *, daily data intervals)".

They are core timetables (``airflow.timetables``), as custom timetables must be, and are
registered in the plugin (``tribe_sync_plugin.TribeSyncPlugin.timetables``): the scheduler and
the API server rebuild a serialized DAG's timetable by looking its class up there.
"""
from __future__ import annotations

from typing import Any

from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable

__all__ = ["LocalCronIntervals", "LocalCronTrigger", "in_words"]


def in_words(description: str, expression: str, timezone: Any) -> str:
    """``"At 02:00"`` + its zone: ``"At 02:00, Europe/Amsterdam"`` (the cron itself when the
    expression has no description, e.g. one croniter cannot describe)."""
    name = getattr(timezone, "name", None) or str(timezone)
    return f"{description or expression}, {name}"


class _Named:
    """What both timetables share: a summary and a description that name the timezone."""

    _expression: str
    _timezone: Any
    description: str
    kind = ""

    def _name_the_zone(self) -> None:
        self._words = in_words(self.description, self._expression, self._timezone)
        self.description = f"{self._words} time (cron {self._expression}, {self.kind})"

    @property
    def summary(self) -> str:
        return self._words


class LocalCronIntervals(_Named, CronDataIntervalTimetable):
    """``CronDataIntervalTimetable`` (runs with data intervals, backfillable) that names its zone."""

    kind = "data intervals"

    def __init__(self, cron: str, timezone: Any) -> None:
        super().__init__(cron, timezone)
        self._name_the_zone()


class LocalCronTrigger(_Named, CronTriggerTimetable):
    """``CronTriggerTimetable`` (a run at each cron time, no data interval) that names its zone."""

    kind = "a run at each time"

    def __init__(self, cron: str, *, timezone: Any, **options: Any) -> None:
        super().__init__(cron, timezone=timezone, **options)
        self._name_the_zone()
