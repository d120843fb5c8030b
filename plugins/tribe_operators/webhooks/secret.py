"""The webhook secret: only from an Airflow connection, read per request, masked at once.

Read per request (not cached) so a rotated secret takes effect without restarting the API
server. In the API server ``airflow.sdk.BaseHook.get_connection`` searches environment
variables and the metadata database (the API server runs in Airflow's "server" secrets
context); a secrets backend configured in ``[secrets]`` comes first, as everywhere.
"""
from __future__ import annotations

import json
import logging

__all__ = ["DEFAULT_CONN_ID", "EXTRA_KEY", "SecretNotConfigured", "webhook_secrets"]

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "tribe_default"
EXTRA_KEY = "webhook_secret"


class SecretNotConfigured(RuntimeError):
    """No usable ``webhook_secret`` (the message names the connection, never a value)."""


def webhook_secrets(conn_id: str = DEFAULT_CONN_ID) -> list[str]:
    """The secret(s) in the connection's extra ``webhook_secret``: one string or a list.

    Raises:
        SecretNotConfigured: The connection or the extra is missing, or holds no string.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as exc:
        raise SecretNotConfigured(f"Airflow connection {conn_id!r} does not exist") from exc
    raw = conn.extra_dejson.get(EXTRA_KEY)
    if isinstance(raw, str) and raw.strip().startswith("["):  # the form's masked field holds a list as JSON
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SecretNotConfigured(f"Airflow connection {conn_id!r}: extra {EXTRA_KEY!r} starts with '[' but is "
                                      "not a JSON list of strings") from None
    values = raw if isinstance(raw, list) else [raw]
    secrets = [value for value in values if isinstance(value, str) and value]
    if not secrets:
        raise SecretNotConfigured(f"Airflow connection {conn_id!r} has no extra {EXTRA_KEY!r} "
                                  "(a string, or a list of strings)")
    for secret in secrets:
        _mask(secret)
    return secrets


def _mask(secret: str) -> None:
    """Register with both of Airflow's maskers: the API server's own log handlers use the
    core one, code running through the Task SDK uses the SDK's; they are separate instances
    (see ``airflow.settings._configure_secrets_masker``)."""
    from airflow.sdk.log import mask_secret

    mask_secret(secret)
    try:
        from airflow._shared.secrets_masker import mask_secret as mask_secret_core
    except ImportError:  # pragma: no cover - a Task-SDK-only install has no core masker
        return
    mask_secret_core(secret)
