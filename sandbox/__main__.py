"""Start simulators: ``python -m sandbox {tribe|poweroffice|odoo|exact|serve} [options]``.

``serve`` runs them all in one process (Tribe, PowerOffice Go, Odoo, Exact Online), seeded with
the demo scenarios (``sandbox/scenario.py``, ``sandbox/odoo_scenario.py``, ``sandbox/exact/seed.py``).
"""
from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from sandbox.common import ServerThread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, port in (("tribe", 8081), ("poweroffice", 8082)):
        one = sub.add_parser(name, help=f"the {name} simulator alone")
        one.add_argument("--host", default="127.0.0.1")
        one.add_argument("--port", type=int, default=port)
        one.add_argument("--seed", action="store_true", help="fill it with sample data")
    odoo = sub.add_parser("odoo", help="the odoo simulator alone (XML-RPC, JSON-RPC, JSON-2 on 19)")
    odoo.add_argument("--host", default="127.0.0.1")
    odoo.add_argument("--port", type=int, default=8069)
    odoo.add_argument("--version", type=int, choices=(17, 18, 19), default=17, help="Odoo server series")
    odoo.add_argument("--seed", action="store_true", help="fill it with sample data")
    exact = sub.add_parser("exact", help="the Exact Online simulator alone (OAuth2, REST/OData v2, sync, webhooks)")
    exact.add_argument("--host", default="127.0.0.1")
    exact.add_argument("--port", type=int, default=8085)
    exact.add_argument("--seed", action="store_true", help="fill it with sample data")
    exact.add_argument("--tls", action="store_true", help="HTTPS with a throwaway test CA")
    both = sub.add_parser("serve", help="the simulators, seeded with the demo scenario")
    both.add_argument("--host", default="127.0.0.1")
    both.add_argument("--tribe-port", type=int, default=8081)
    both.add_argument("--poweroffice-port", type=int, default=8082)
    both.add_argument("--odoo-port", type=int, default=8083, help="0: no Odoo simulator")
    both.add_argument("--odoo-tribe-port", type=int, default=8084, help="the Odoo company's own Tribe tenant")
    both.add_argument("--exact-port", type=int, default=8085, help="0: no Exact Online simulator")
    both.add_argument("--exact-tribe-port", type=int, default=8086, help="the Exact company's own Tribe tenant")
    both.add_argument("--latency-ms", type=float, nargs=2, default=(0.0, 0.0), metavar=("MIN", "MAX"))
    args = parser.parse_args(argv)

    if args.command == "tribe":
        from sandbox.tribe.__main__ import main as tribe_main

        tribe_main(["--host", args.host, "--port", str(args.port)] + (["--seed"] if args.seed else []))
    elif args.command == "poweroffice":
        from sandbox.poweroffice.__main__ import main as po_main

        po_main(["--host", args.host, "--port", str(args.port)] + (["--seed"] if args.seed else []))
    elif args.command == "odoo":
        from sandbox.odoo.__main__ import main as odoo_main

        odoo_main(["--host", args.host, "--port", str(args.port), "--version", str(args.version)]
                  + (["--seed"] if args.seed else []))
    elif args.command == "exact":
        from sandbox.exact.__main__ import main as exact_main

        exact_main(["--host", args.host, "--port", str(args.port)] + (["--seed"] if args.seed else [])
                   + (["--tls"] if args.tls else []))
    else:
        serve(args)


def serve(args: argparse.Namespace) -> None:
    from contextlib import ExitStack

    from sandbox.odoo import create_app as odoo_app
    from sandbox.odoo_scenario import odoo_demo_state
    from sandbox.poweroffice import create_app as po_app
    from sandbox.scenario import demo_states
    from sandbox.tribe import create_app as tribe_app

    tribe, po = demo_states()
    odoo_tribe, odoo = odoo_demo_state() if args.odoo_port else (None, None)
    exact_tribe, exact = _exact_states() if args.exact_port else (None, None)
    for state in (tribe, po):
        state.faults.update({"latency_ms": list(args.latency_ms)})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ExitStack() as servers:
        servers.enter_context(ServerThread(tribe_app(tribe), host=args.host, port=args.tribe_port))
        servers.enter_context(ServerThread(po_app(po), host=args.host, port=args.poweroffice_port))
        if odoo is not None:
            servers.enter_context(ServerThread(odoo_app(odoo), host=args.host, port=args.odoo_port))
            servers.enter_context(ServerThread(tribe_app(odoo_tribe), host=args.host, port=args.odoo_tribe_port))
        if exact is not None:
            from sandbox.exact import create_app as exact_app

            servers.enter_context(ServerThread(exact_app(exact), host=args.host, port=args.exact_port))
            servers.enter_context(ServerThread(tribe_app(exact_tribe), host=args.host, port=args.exact_tribe_port))
        print(f"tribe on http://{args.host}:{args.tribe_port}, poweroffice on http://{args.host}:"
              f"{args.poweroffice_port}" + (f", odoo on http://{args.host}:{args.odoo_port}" if odoo else "")
              + (f", exact on http://{args.host}:{args.exact_port}" if exact else "")
              + f"; seeded {tribe.snapshot()} / {po.snapshot()}" + (f" / {odoo.snapshot()}" if odoo else ""), flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


def _exact_states() -> Any:  # imported late, as the others are
    from sandbox.exact_scenario import exact_demo_state

    return exact_demo_state()


if __name__ == "__main__":
    main()
