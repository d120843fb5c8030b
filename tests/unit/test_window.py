from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tribe_operators.sync.context import resolve_window
from tribe_operators.timeutil import parse_timestamp

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=15)


def test_initial_import_reads_everything_up_to_the_interval_end():
    assert resolve_window(None, (T0, T1)) == (None, T1)


def test_incremental_run_reads_from_the_watermark_minus_overlap():
    assert resolve_window(T0, (T0, T1), overlap=timedelta(minutes=5)) == (T0 - timedelta(minutes=5), T1)


def test_backfill_window_in_the_past_reads_its_own_interval():
    later = T1 + timedelta(days=3)
    assert resolve_window(later, (T0, T1), overlap=timedelta(0)) == (T0, T1)


def test_params_win():
    a, b = T0 - timedelta(days=2), T0 - timedelta(days=1)
    assert resolve_window(T0, (T0, T1), from_date=a, to_date=b) == (a, b)
    assert resolve_window(T0, (T0, T1), from_date=a) == (a, T1)


def test_parse_timestamp_handles_seven_fraction_digits_and_offsets():
    assert parse_timestamp("2026-11-01T10:00:00.1234567+01:00") == datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert parse_timestamp("2026-11-01 10:00:00Z") == T0


def test_a_backfill_reads_exactly_its_interval_whatever_the_watermark() -> None:
    # No watermark would otherwise mean "everything up to the end"; a later watermark would
    # otherwise move the start: a backfill of an old day must read that day only.
    assert resolve_window(None, (T0, T1), exact=True) == (T0, T1)
    assert resolve_window(T1, (T0, T1), exact=True) == (T0, T1)


def test_airflow_pendulum_bounds_come_out_as_aware_stdlib_datetimes() -> None:
    """A zone-less pendulum DateTime once slipped through as naive and broke the comparison
    with PowerOffice's stamps on the second run of the demo."""
    import pendulum

    since, until = resolve_window(T0, (pendulum.naive(2026, 1, 1, 0, 15), pendulum.naive(2026, 1, 1, 0, 30)),
                                  overlap=timedelta(0))
    assert since.tzinfo is not None and until.tzinfo is not None
    assert type(since) is datetime and type(until) is datetime


def test_a_to_date_in_the_future_ends_at_the_moment_the_run_reads():
    # Else the watermark moves past what was read, and changes made before that future date
    # but after this run are never read by an incremental run.
    future = T1 + timedelta(days=30)
    assert resolve_window(T0, (T0, T1), to_date=future, now=T1) == (None, T1)
    assert resolve_window(T0, (T0, T1), from_date=T0, to_date=future, now=T1) == (T0, T1)
    assert resolve_window(T0, (T0, T1), to_date=T0, now=T1) == (None, T0)  # a past one stays
    assert resolve_window(T0, (T0, T1), to_date=datetime.now(UTC) + timedelta(days=1))[1] <= datetime.now(UTC)


def _context(run_type, run_after, start=T0, end=T1):
    from types import SimpleNamespace

    return {"dag_run": SimpleNamespace(run_type=run_type, run_after=run_after),
            "data_interval_start": start, "data_interval_end": end}


def test_a_manual_run_reads_up_to_its_trigger_moment_a_scheduled_or_backfill_run_its_interval():
    from tribe_operators.sync.context import read_interval

    pressed = T1 + timedelta(minutes=11)  # Trigger pressed 11 minutes after the last interval ended
    assert read_interval(_context("manual", pressed)) == (T0, pressed)
    assert read_interval(_context("manual", pressed, None, None)) == (None, pressed)  # no logical date
    assert read_interval(_context("scheduled", pressed)) == (T0, T1)
    assert read_interval(_context("backfill", pressed)) == (T0, T1)
    # A logical date ahead of the trigger (dag.test() playing a later run) keeps its interval end.
    assert read_interval(_context("manual", T0)) == (T0, T1)
