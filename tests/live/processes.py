"""Processes and waiting for the live harness: long-running components in their own process
groups, log tails, polling with evidence on timeout."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Component", "HarnessError", "StartStop", "StopWaiting", "free_port", "kill_processes_with_env", "tail_file",
           "wait_until"]


class HarnessError(RuntimeError):
    """The live stack did not do what a test waited for (the message carries the evidence)."""


class StopWaiting(HarnessError):
    """Raised by a polled condition when waiting longer cannot help (a component died, the DAG
    folder does not import); any other exception is retried until the timeout."""


def free_port() -> int:
    from sandbox.common.server import free_port as _free_port

    return _free_port()


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.5,
               what: str = "condition", diagnostics: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise :class:`HarnessError` on
    timeout (with the last error and ``diagnostics()``), :class:`StopWaiting` at once."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except StopWaiting:
            raise
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last error on timeout
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            extra = f"\n{diagnostics()}" if diagnostics else ""
            raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what}{detail}{extra}")
        time.sleep(interval)


@dataclass
class Component:
    """One long-running Airflow process (its own process group, output to a log file)."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None
    _log: Any = None

    def start(self, env: dict[str, str], cwd: Path) -> Component:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(self.argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM to the whole process group (start_new_session: its id is the leader's pid)."""
        if self.popen is not None:
            _signal_group(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process group, wait for the leader, then SIGKILL what is left of it."""
        if self.popen is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=max(0.0, timeout))
        _signal_group(self.popen.pid, signal.SIGKILL)  # stragglers (task processes, executor workers)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 40) -> str:
        return tail_file(self.log_path, lines)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail_file(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * lines))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"<{path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _processes_with_env(marker: str) -> list[int]:
    """PIDs whose environment carries ``marker`` (our unique AIRFLOW_HOME): only our own
    descendants can, so a process that left its group is still found — and nothing else is."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_processes_with_env(marker: str) -> None:
    """SIGKILL every process still carrying ``marker`` in its environment."""
    for pid in _processes_with_env(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class StartStop:
    """``with part:`` starts it and always stops it, also after a failed start."""

    def start(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Any:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
