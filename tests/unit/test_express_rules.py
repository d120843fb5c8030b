"""The express task's trigger rules and the error it fails with (``operators.express``): as
Airflow decides for the rules the step tasks have, and a retry whenever a retry may help."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tribe_operators.exceptions import FatalError, MappingConfigError, ServerError
from tribe_operators.operators.express import _by_trigger_rule, _to_raise


def step(rule: str) -> SimpleNamespace:
    return SimpleNamespace(task_id="tribe_customers.map", trigger_rule=rule)


@pytest.mark.parametrize(("rule", "upstream", "expected"), [
    ("all_success", [], None),  # no upstream: it runs
    ("all_success", ["success", "success"], None),
    ("all_success", ["success", "skipped"], "skipped"),
    ("all_success", ["skipped", "failed"], "upstream_failed"),  # a failure outweighs a skip
    ("all_success", ["upstream_failed"], "upstream_failed"),
    ("none_failed", [], None),
    ("none_failed", ["skipped", "skipped"], None),  # a role switched off does not hold the other back
    ("none_failed", ["success", "failed"], "upstream_failed"),
])
def test_a_step_runs_or_is_skipped_as_airflow_would_decide(rule, upstream, expected):
    assert _by_trigger_rule(step(rule), upstream) == expected


def test_a_trigger_rule_it_does_not_know_is_a_configuration_fault():
    with pytest.raises(FatalError, match="one_success"):
        _by_trigger_rule(step("one_success"), ["success"])


def test_it_fails_with_an_error_a_retry_may_cure_before_a_configuration_fault():
    fault, passing = MappingConfigError("unit_map lacks 'LTR'"), ServerError("503")
    assert _to_raise([fault, passing]) is passing  # Airflow retries; the fault fails again there
    assert _to_raise([fault, MappingConfigError("other")]) is fault  # only faults: no retry
    assert _to_raise([passing, fault]) is passing
