"""Run the Odoo simulator standalone: ``python -m sandbox.odoo --port 8069 --version 18 --seed``."""
from __future__ import annotations

import argparse

import uvicorn

from sandbox.odoo import ADMIN_LOGIN, ADMIN_PASSWORD, DEFAULT_API_KEY, SUPPORTED_VERSIONS, OdooState, create_app


def main(argv: list[str] | None = None) -> None:
    """Parse arguments (``sys.argv`` by default), optionally seed, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.odoo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8069)
    parser.add_argument("--version", type=int, choices=SUPPORTED_VERSIONS, default=17, help="Odoo server series")
    parser.add_argument("--db", default="sandbox", help="database name clients must send")
    parser.add_argument("--seed", action="store_true", help="fill the database with Dutch/Belgian demo data")
    parser.add_argument("--rng-seed", type=int, default=1)
    args = parser.parse_args(argv)
    state = OdooState(version=args.version, db=args.db)
    if args.seed:
        counts = state.seed(rng_seed=args.rng_seed)
        print("seeded:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    json2 = f", JSON-2 /json/2 (bearer {DEFAULT_API_KEY})" if state.profile.json2 else ""
    print(f"Odoo {state.profile.server_version} simulator on http://{args.host}:{args.port} db={args.db!r} "
          f"login={ADMIN_LOGIN!r} password={ADMIN_PASSWORD!r} api key={DEFAULT_API_KEY!r}: XML-RPC /xmlrpc/2, "
          f"JSON-RPC /jsonrpc{json2}", flush=True)
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
