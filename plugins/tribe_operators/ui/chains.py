"""The token chains of an integration's system, for the page: a system a person authorizes once
(``System.authorize``: single-use refresh tokens that rotate on every renewal) keeps one chain per
app in the encrypted token store, and its vendor limits how often the token endpoint is called
(Exact Online: 200 a day, and a new access token only 570 s after the last).

Per chain: whose it is (the store's key, which holds no secret), the token endpoint calls of this
UTC day against the vendor's daily limit where the chain's token auth declares one, when the
current access token was issued and when the vendor allows the next renewal. Never a token: the
store's ``state()`` reads no token column, so nothing is decrypted for the page.
"""
from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

__all__ = ["token_chains"]


def token_chains(integration: str) -> list[dict[str, Any]]:
    """One row per chain the integration's connections use (several connections of one app
    share a chain: one row naming them all); a connection that cannot be read is a row with its
    ``error``, so the page still opens."""
    from tribe_operators.registry import systems

    system = systems().get(integration)
    if system is None or system.authorize is None:
        return []  # no chain: a client-credentials or key-based system
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for conn_id in _connections(integration, system.default_conn_id):
        try:
            hook = system.new_hook(conn_id)
            store, auth = hook.token_store, hook.auth
            state = store.state()
        except Exception as exc:  # noqa: BLE001 - a broken connection is itself worth showing
            rows[("", conn_id)] = {"system": system.title, "connections": [conn_id],
                                   "error": f"{type(exc).__name__}: {exc}"}
            continue
        key = (store.key["conn_id"], store.key["scope"])
        if key in rows:
            rows[key]["connections"].append(conn_id)
            continue
        issued = state.issued_at.astimezone(UTC) if state and state.issued_at else None
        interval = float(getattr(auth, "min_interval_s", 0.0) or 0.0)
        rows[key] = {
            "system": system.title, "connections": [conn_id], "chain": key[0], "scope": key[1],
            "stored": state is not None, "calls_today": state.calls_today if state else 0,
            # The vendor's daily limit of token calls, where the chain's token auth declares it.
            "calls_limit": getattr(auth, "calls_per_day", None),
            "issued_at": issued,
            "next_renewal_at": (issued + timedelta(seconds=interval + float(getattr(auth, "margin_s", 0.0))))
            if issued is not None and interval else None,
            "rotations": state.rotations if state else 0, "error": None}
    return list(rows.values())


def _connections(integration: str, default: str) -> list[str]:
    """The connections of the integration's scopes (a scope may name its own), else the default."""
    from tribe_operators.mapping.settings import load_settings

    try:
        scopes = load_settings(integration).get("scopes") or {}
    except Exception:  # noqa: BLE001 - broken settings are shown below on the page: the default chain still is
        scopes = {}
    found = [str((scope or {}).get("conn_id") or default) for scope in scopes.values()] or [default]
    return list(dict.fromkeys(found))
