"""The workers' Celery configuration: Airflow's own, and a preload list that still imports (a
renamed module would otherwise only show as slower tasks)."""
from __future__ import annotations


def test_the_configuration_is_airflows_default():
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    from tribe_operators.celery_config import CELERY_CONFIG

    assert CELERY_CONFIG == DEFAULT_CELERY_CONFIG and CELERY_CONFIG is not DEFAULT_CELERY_CONFIG


def test_every_preloaded_module_and_system_part_imports():
    import sys

    from tribe_operators.celery_config import preload
    from tribe_operators.mapping.spec import load_stream

    load_stream.cache_clear()
    assert preload() == []
    assert {"tribe_operators.sync.steps", "tribe_operators.dag_factory"} <= set(sys.modules)
    # Modules only: no mapping was read (a changed file is read by the next task).
    assert load_stream.cache_info().currsize == 0
