"""No secret, client key or access token reaches a task log — even with HTTP debugging on.

Where task logs come from. In a deployment the task *supervisor* writes each task instance's
log: a file under ``[logging] base_log_folder`` (``AIRFLOW_HOME/logs``) at the path
``log_filename_template`` renders (``dag_id=…/run_id=…/task_id=…/attempt=N.log``), JSON lines
through ``airflow.sdk.log.logging_processors`` — its step ``mask_logs`` is Airflow's secrets
masker, which knows every value the task registered with ``mask_secret`` (sent over as
``MaskSecret``). It is fed the task process's log records (JSON, not yet masked) and every line
the task prints to stdout/stderr (``task.stdout``/``task.stderr``).

``dag.test()`` runs each task inside this process (``InProcessTestSupervisor``) and writes no
such file — its output goes to the console; the test homes' ``logs/`` folders stay empty. So this
test writes the task logs the supervisor's way, with the supervisor's own functions
(``_configure_logging``, ``process_log_messages_from_subprocess``, ``forward_to_log``): records
and events formatted as the task process formats them for its supervisor, prints forwarded line
by line, one file per task instance at Airflow's path. The simulators run in threads of this
process; they stand for other machines, so what their threads log or print is left out.

What makes a secret reach the log. Our code never logs a header, and urllib3's DEBUG lines name
only method, URL and status — so besides DEBUG for ``tribe_operators``, ``requests`` and
``urllib3`` the test turns on ``http.client``'s debug output (``HTTPConnection.debuglevel``, the
documented way to see what requests sends). It prints every request — ``Authorization: Bearer
<token>``, the subscription key, the token calls' credentials — which in a real task land in its
log as ``task.stdout``. Only the masking stands between those values and the log.

Then every task log file is scanned for the connections' secrets, every token the simulators
issued during the test (recorded where they issue them) and the token shapes the suite-wide
scan (``tests/log_scan.py``) looks for.
"""
from __future__ import annotations

import http.client
import io
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.scenario import seed_demo
from tests.log_scan import find_secrets, known_secrets, scan_files

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
DEBUG_LOGGERS = ("tribe_operators", "requests", "urllib3")
# Threads of the in-process simulators (sandbox.common.ServerThread, the Tribe webhook sender,
# the server's worker threads): other machines, not the task.
SIMULATOR_THREADS = ("sim:", "tribe-webhook:", "AnyIO worker thread")


class TaskLogs:
    """The task logs of one ``dag.test()``, written as the task supervisor writes them.

    A context manager. Inside it, whatever a task logs — stdlib records, structlog events (the
    task runner's, the operators') — or prints, from any of its threads, goes to that task
    instance's log: the one ``get_current_context()`` names, and after ``execute()`` the same
    one (its failure, its final state) until ``dag.test()`` says it ended. What ``dag.test()``
    logs between tasks goes to ``dag_id=<dag>/dag_test.log``. The in-process execution API's
    log lines belong to the API server's log and are left out.
    """

    def __init__(self, dag_id: str) -> None:
        from airflow.utils.helpers import log_filename_template_renderer

        self.dag_id = dag_id
        self.render = log_filename_template_renderer()
        self.files: dict[str, Path] = {}
        self._sinks: dict[str, tuple[Any, Any, dict[str, Any]]] = {}
        self._formatter, self._pre_chain, self._json = _task_process_formatting()
        self._current: str | None = None
        self._lock = threading.RLock()
        self._stack = ExitStack()
        self.closed = True

    # -- where a line goes ----------------------------------------------------------------
    def _relative_path(self) -> str:
        from airflow.sdk import get_current_context

        try:
            ti = get_current_context()["ti"]
        except RuntimeError:
            return self._current or f"dag_id={self.dag_id}/dag_test.log"
        self._current = self.render(ti=ti, try_number=ti.try_number)
        return self._current

    def _sink(self) -> tuple[Any, Any, dict[str, Any]]:
        from airflow.sdk.configuration import conf
        from airflow.sdk.execution_time.supervisor import (
            _configure_logging,
            forward_to_log,
            process_log_messages_from_subprocess,
        )

        relative = self._relative_path()
        if relative not in self._sinks:
            logger, handle = _configure_logging(relative, client=None)  # the supervisor's task log file
            records = process_log_messages_from_subprocess((logger,))
            streams = {"stdout": forward_to_log((logger,), logger="task.stdout", level=logging.INFO),
                       "stderr": forward_to_log((logger,), logger="task.stderr", level=logging.ERROR)}
            for generator in (records, *streams.values()):
                next(generator)
            self._sinks[relative] = (handle, records, streams)
            self.files[relative] = Path(conf.get("logging", "base_log_folder")) / relative
        return self._sinks[relative]

    def capturing(self) -> bool:
        """Open, and called from a thread of the task (not of a simulator)?"""
        return not self.closed and not threading.current_thread().name.startswith(SIMULATOR_THREADS)

    # -- what the task process sends its supervisor ----------------------------------------
    def record(self, record: logging.LogRecord) -> None:
        """A stdlib log record, formatted by the task process's log handler (JSON)."""
        line = self._formatter.format(record).encode()
        between_tasks = record.name == "airflow.sdk.definitions.dag" and str(record.msg).startswith("[DAG TEST] ")
        with self._lock:
            if between_tasks and str(record.msg).startswith("[DAG TEST] starting"):
                self._current = None  # dag.test() moves on to the next task instance
            self._sink()[1].send(line)
            if between_tasks and str(record.msg).startswith("[DAG TEST] end task"):
                self._current = None

    def event(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> None:
        """A structlog event, through the task process's structlog processors (JSON)."""
        for processor in self._pre_chain:
            event_dict = processor(logger, method_name, event_dict)
        line = self._json(logger, method_name, event_dict)
        with self._lock:
            self._sink()[1].send(line)

    def line(self, channel: str, text: str) -> None:
        """A line the task printed."""
        with self._lock:
            self._sink()[2][channel].send(text.encode())

    # -- on and off -----------------------------------------------------------------------
    def __enter__(self) -> TaskLogs:
        import structlog

        self.closed = False
        stack = self._stack
        handler = _RecordsToTaskLog(self)
        root = logging.getLogger()
        root.addHandler(handler)
        stack.callback(root.removeHandler, handler)
        # In place: loggers bound before now share this list (structlog.get_config() returns it).
        processors = structlog.get_config()["processors"]
        processors.insert(0, self._structlog_capture)
        stack.callback(processors.remove, self._structlog_capture)
        out, err = _PrintsToTaskLog(self, "stdout"), _PrintsToTaskLog(self, "stderr")
        stack.enter_context(redirect_stdout(out))
        stack.enter_context(redirect_stderr(err))
        stack.callback(err.flush)
        stack.callback(out.flush)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        finally:
            with self._lock:
                self.closed = True
                for handle, records, streams in self._sinks.values():
                    for generator in (records, *streams.values()):
                        generator.close()
                    handle.close()
                self._sinks.clear()

    def _structlog_capture(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        import structlog

        name = str(event_dict.get("logger_name") or getattr(logger, "name", "") or "")
        if not self.capturing() or name.startswith("airflow.api_fastapi"):
            return event_dict
        self.event(logger, method_name, dict(event_dict))
        raise structlog.DropEvent  # written to the task log instead of the console


def _task_process_formatting() -> tuple[logging.Formatter, list[Any], Any]:
    """How a task process formats its logs for its supervisor — JSON, not masked
    (``airflow.sdk.log.configure_logging(json_output=True, sending_to_supervisor=True)``): the
    stdlib handler's formatter, the structlog processors, the structlog JSON renderer."""
    import structlog
    from airflow.sdk._shared.logging.structlog import drop_positional_args, structlog_processors

    pre_chain, for_stdlib, for_structlog = structlog_processors(json_output=True)
    formatter = structlog.stdlib.ProcessorFormatter(
        use_get_message=False,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, drop_positional_args, for_stdlib],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *pre_chain],
        pass_foreign_args=True,
    )
    return formatter, list(pre_chain), for_structlog


class _RecordsToTaskLog(logging.Handler):
    def __init__(self, logs: TaskLogs) -> None:
        super().__init__(logging.DEBUG)
        self.logs = logs

    def emit(self, record: logging.LogRecord) -> None:
        if not self.logs.capturing():
            return
        try:
            self.logs.record(record)
        except Exception:  # noqa: BLE001 - a logging handler must not raise into the task
            self.handleError(record)


class _PrintsToTaskLog(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the task: complete lines go to its log (one partial
    line per thread: ``print`` writes its pieces separately)."""

    def __init__(self, logs: TaskLogs, channel: str) -> None:
        self.logs = logs
        self.channel = channel
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.logs.capturing():
            return len(text)
        me = threading.get_ident()
        with self._lock:
            lines = (self._partial.pop(me, "") + text).split("\n")
            if lines[-1]:
                self._partial[me] = lines[-1]
        for line in lines[:-1]:
            self.logs.line(self.channel, line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._partial = list(self._partial.values()), {}
        for line in rest:
            if self.logs.capturing():
                self.logs.line(self.channel, line)


@pytest.fixture
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DEBUG for our loggers, requests and urllib3; http.client's debug output on."""
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    levels = {name: logging.getLogger(name).level for name in DEBUG_LOGGERS}
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def issued_tokens(sims, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every access token either simulator issues from now on, recorded where it is issued
    (``PowerOfficeState.issue_token``, Tribe's ``TokenAuthority.issue``): their own stores drop
    expired tokens."""
    issued: dict[str, list[str]] = {"poweroffice": [], "tribe": []}
    po_issue, tribe_issue = sims.po.issue_token, sims.tribe.auth.issue

    def po_token() -> str:
        token = po_issue()
        issued["poweroffice"].append(token)
        return token

    def tribe_token(*args: Any, **kwargs: Any) -> dict[str, Any]:
        body = tribe_issue(*args, **kwargs)
        issued["tribe"].append(body["access_token"])
        return body

    monkeypatch.setattr(sims.po, "issue_token", po_token)
    monkeypatch.setattr(sims.tribe.auth, "issue", tribe_token)
    return issued


@pytest.fixture
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags["poweroffice_to_tribe"]


def test_no_secret_or_token_in_any_task_log(dag, sims, link_db, issued_tokens, debug_logging):
    # Both vendors: PowerOffice read (customers, suppliers, contacts, products…), Tribe read and
    # written; a few 429s on both (token calls included), so retries and re-sent requests — each
    # with its credentials — are logged too. (No 5xx: a 5xx on a create fails the task by design,
    # and dag.test() then sits out the retry delay.)
    seed_demo(sims.tribe, sims.po, customers=12, suppliers=4, matched=2, tribe_records=(4, 2, 2))
    for state in (sims.po, sims.tribe):
        state.faults.update({"too_many_requests": 0.03, "seed": 11})

    # In the test body, not a fixture: pytest resets sys.stdout between setup and the test.
    with TaskLogs(dag.dag_id) as task_logs:
        dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))
    assert str(dagrun.state).endswith("success"), dagrun.state

    # Tokens were issued by both simulators, and we saw every one (their own counts and stores).
    tokens = issued_tokens["poweroffice"] + issued_tokens["tribe"]
    assert issued_tokens["poweroffice"] and issued_tokens["tribe"], issued_tokens
    assert sims.po.counters()["tokens_issued"] == len(issued_tokens["poweroffice"])
    assert sims.tribe.counters()["tokens_issued"] == len(issued_tokens["tribe"])
    assert set(sims.po.tokens) <= set(tokens)
    # The suite-wide scan (tests/log_scan.py, no knowledge of these values) recognises each one.
    assert all(find_secrets(token, secrets={}) for token in tokens)

    # One log file per task instance that ran, at Airflow's path under [logging] base_log_folder.
    from airflow.utils.helpers import log_filename_template_renderer

    render = log_filename_template_renderer()
    ran = [render(ti=ti, try_number=ti.try_number) for ti in dagrun.get_task_instances()
           if str(ti.state).endswith("success")]
    assert ran
    assert not [path for path in ran if path not in task_logs.files], f"no task log for some of {ran}"
    files = [path for path in task_logs.files.values() if path.exists()]
    text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in files)

    # PowerOffice tokens: the whole token, and its random part alone.
    exact = [*tokens, *(token.rsplit(".", 1)[-1] for token in issued_tokens["poweroffice"])]
    hits, scanned = scan_files(files, known_secrets(), extra=exact)
    assert scanned == len(files)
    assert not hits, f"{len(hits)} task log line(s) with a secret or token:\n" + "\n".join(map(str, hits[:30]))

    # The credentials did pass through the task logs, masked — so "nothing found" above means
    # masked, not absent: bearer tokens on both APIs (reads and the load threads' writes), the
    # subscription key, both token calls' credentials, and the 429s' retries.
    for evidence in ("Authorization: Bearer ***", "Authorization: Bearer eyJ***", "Ocp-Apim-Subscription-Key: ***",
                     "client_secret=***", "Authorization: Basic ***", "send: b'POST /v1/odata/",
                     "429 rate limited"):
        assert evidence in text, f"{evidence!r} not in any task log: HTTP debug output not captured?"
