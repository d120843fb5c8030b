"""Operator's command line for the link database.

    python -m tribe_operators.cli quarantine list [--integration <mapping folder>] [--stream customers]
    python -m tribe_operators.cli quarantine dismiss --stream products --id 3000006 [--id …]
    python -m tribe_operators.cli ledger show --tribe-id <invoice id>
    python -m tribe_operators.cli oauth authorize --conn exact_default [--callback-url <pasted URL>]
    python -m tribe_operators.cli webhooks subscribe --conn exact_default --url https://<airflow>/tribe-sync/webhooks/exact

The database comes from ``--db-url``, ``TRIBE_SYNC_DB_URL``, or the Airflow connection
``tribe_sync_db``. Quarantined records are retried automatically on every run; ``dismiss``
stops that for records you decided not to sync. ``oauth authorize`` is the one-time consent of a
system without a client-credentials grant (Exact Online): it prints the URL to open, takes the
address the browser lands on, stores the first token encrypted and lists what the grant covers.
``webhooks subscribe`` subscribes the receiver to the webhooks of a system that sends its own
(Exact Online), in every scope of the settings on that connection (``--division``: one); running
it again keeps what is there.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tribe_operators.mapping.spec import mappings_root
from tribe_operators.store.engine import engine_for
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.quarantine import Quarantine

__all__ = ["main"]


def _engine(url: str | None) -> Any:
    url = url or os.environ.get("TRIBE_SYNC_DB_URL")
    return engine_for(url=url) if url else engine_for()


def main(argv: list[str] | None = None, out: Any = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m tribe_operators.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-url")
    integrations = sorted(p.name for p in mappings_root().iterdir() if (p / "settings.yaml").exists())
    parser.add_argument("--integration", choices=integrations, default=integrations[0] if len(integrations) == 1
                        else None, help="a mapping folder (default: the only one; quarantine and ledger need one)")
    parser.add_argument("--scope", default="default")
    sub = parser.add_subparsers(dest="area", required=True)
    q = sub.add_parser("quarantine").add_subparsers(dest="action", required=True)
    listing = q.add_parser("list")
    listing.add_argument("--stream")
    listing.add_argument("--json", action="store_true")
    dismiss = q.add_parser("dismiss")
    dismiss.add_argument("--stream", required=True)
    dismiss.add_argument("--id", dest="ids", action="append", required=True)
    ledger = sub.add_parser("ledger").add_subparsers(dest="action", required=True)
    show = ledger.add_parser("show")
    show.add_argument("--tribe-id", required=True)
    oauth = sub.add_parser("oauth").add_subparsers(dest="action", required=True)
    authorize = oauth.add_parser("authorize", help="a person's one-time consent (Exact Online)")
    authorize.add_argument("--conn", required=True, help="the Airflow connection of the app (exact_default)")
    authorize.add_argument("--callback-url", help="the address the browser landed on (else asked for)")
    webhooks = sub.add_parser("webhooks").add_subparsers(dest="action", required=True)
    subscribe = webhooks.add_parser("subscribe", help="subscribe the receiver to a system's webhooks (Exact Online)")
    subscribe.add_argument("--conn", required=True, help="the Airflow connection of the app (exact_default)")
    subscribe.add_argument("--url", required=True, help="the receiver: https://<airflow-host>/tribe-sync/webhooks/<system>")
    subscribe.add_argument("--division", dest="keys", action="append",
                           help="only this scope key (an Exact division); repeatable (default: every scope on --conn)")
    args = parser.parse_args(argv)

    engine = _engine(args.db_url)
    if args.area == "oauth":
        return _authorize(engine, args.conn, args.callback_url, out)
    if args.area == "webhooks":
        return _subscribe(engine, args.conn, args.url, args.keys, out)
    if args.integration is None:
        parser.error(f"--integration is required (one of {', '.join(integrations)})")
    if args.area == "quarantine":
        quarantine = Quarantine(engine, args.integration, args.scope)
        if args.action == "list":
            rows = quarantine.open(args.stream)
            if args.json:
                print(json.dumps(rows, default=str, indent=2), file=out)
            else:
                for r in rows:
                    print(f"{r['system']}/{r['stream']}\t{r['record_id']}\t{r['field'] or '-'}\t"
                          f"tries={r['attempts']}\t{r['reason']}", file=out)
                print(f"{len(rows)} open", file=out)
        else:
            who = f"cli:{os.environ.get('USER') or 'unknown'}"
            print(f"dismissed {quarantine.resolve(args.stream, args.ids, dismissed_by=who)}", file=out)
        return 0
    row = ExportLedger(engine, args.integration, args.scope).get(args.tribe_id)
    print(json.dumps(row.__dict__ if row else None, default=str, indent=2), file=out)
    return 0 if row else 1


def _system_of(conn_id: str) -> tuple[Any, str]:
    """(The registry's system whose connection type the connection has, or None; that type)."""
    from airflow.sdk import BaseHook

    from tribe_operators.registry import load, systems

    conn_type = BaseHook.get_connection(conn_id).conn_type
    return next((s for s in systems().values() if s.connection_type
                 and load(s.connection_type, s.package)[0] == conn_type), None), conn_type


def _authorize(engine: Any, conn_id: str, callback_url: str | None, out: Any) -> int:
    """Find the connection's system through the registry, then walk its authorization."""
    from tribe_operators.exceptions import TribeSyncError

    system, conn_type = _system_of(conn_id)
    if system is None or system.authorize is None:
        print(f"connection {conn_id!r} ({conn_type}) needs no authorization by a person", file=out)
        return 2
    flow = system.part("authorize")(system.part("hook")(conn_id, link_engine=engine))
    print(f"Open this URL, sign in to {system.title} and consent:\n\n  {flow.url()}\n", file=out)
    pasted = callback_url or input("Then paste the whole address the browser was sent to: ")
    try:
        lines = flow.complete(pasted, check_state=callback_url is None)
    except TribeSyncError as exc:
        print(f"not authorized: {exc}", file=out)
        return 1
    print("authorized; the first token is stored encrypted in the link database", file=out)
    for line in lines:
        print(f"  {line}", file=out)
    return 0


def _subscribe(engine: Any, conn_id: str, url: str, keys: list[str] | None, out: Any) -> int:
    """Subscribe ``url`` through the connection's system's webhook part, scope by scope."""
    from tribe_operators.mapping.settings import is_configured, load_settings
    from tribe_operators.webhooks.secret import SecretNotConfigured, webhook_secrets

    system, conn_type = _system_of(conn_id)
    if system is None or system.webhooks is None:
        print(f"connection {conn_id!r} ({conn_type}) has no webhooks to subscribe to", file=out)
        return 2
    if not keys:
        scopes = load_settings(system.name)["scopes"] if is_configured(system.name) else {}
        keys = [str(s["key"]) for s in scopes.values()
                if s.get("key") is not None and (s.get("conn_id") or system.default_conn_id) == conn_id]
    if not keys:
        print(f"no scope of the {system.name} settings uses {conn_id!r}; name one with --division", file=out)
        return 2
    try:
        webhook_secrets(conn_id)
    except SecretNotConfigured as exc:  # events would be refused (503) until it is there
        print(f"warning: {exc}: put the app's webhook secret there", file=out)
    subscriptions = system.part("webhooks")().subscribe(system.part("hook")(conn_id, link_engine=engine), url, keys)
    for s in subscriptions:
        print(f"{s.scope_key}\t{s.topic}\t{s.outcome}\t{s.detail}", file=out)
    tally = {outcome: sum(1 for s in subscriptions if s.outcome == outcome)
             for outcome in ("subscribed", "kept", "not offered", "failed")}
    print(", ".join(f"{n} {outcome}" for outcome, n in tally.items()), file=out)
    return 1 if tally["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
