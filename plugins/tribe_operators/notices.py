"""What a task tells its run's note about the configuration: the setting, connection field or map
entry that failed it (no retry can fix those), and the deprecated names it still accepted.

Tasks cannot write their run's note (``reports.note_listener`` does, in the scheduler), and a
configuration fault may be the link database's own connection: so a task leaves them as XComs
of its own (in Airflow's metadata database, cleared when the task is run again) under the keys
below, and the listener reads them there when the run ends.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["FAILED_KEY", "WARNINGS_KEY", "deprecated", "drain_warnings", "leave"]

FAILED_KEY = "tribe_sync_config_error"  # one line: what to fix
WARNINGS_KEY = "tribe_sync_config_warnings"  # [line, …]: deprecated names still accepted

log = logging.getLogger(__name__)
_lock = threading.Lock()
_warnings: list[str] = []  # this task process's (a hook may be built in a load's worker thread)


def deprecated(message: str) -> None:
    """Log a deprecation the configuration should be rid of, and keep it for the run's note."""
    log.warning("deprecated: %s", message)
    with _lock:
        if message not in _warnings:
            _warnings.append(message)


def drain_warnings() -> list[str]:
    """The deprecations noted since the last call (a task's own, called where it starts and ends)."""
    with _lock:
        found = list(_warnings)
        _warnings.clear()
    return found


def leave(context: Any, key: str, value: Any) -> None:
    """Push ``value`` as this task's XCom ``key``; a note is never worth the task's own outcome."""
    ti = (context or {}).get("ti")
    if ti is None:
        return
    try:
        ti.xcom_push(key=key, value=value)
    except Exception:  # noqa: BLE001 - the task's own error or result matters more than its note
        log.warning("could not leave %s for the run's note", key, exc_info=True)
