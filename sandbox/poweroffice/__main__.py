"""Run the simulator standalone: ``python -m sandbox.poweroffice --port 8082 --seed``."""
from __future__ import annotations

import argparse

import uvicorn

from sandbox.poweroffice import PowerOfficeState, create_app, seed


def main(argv: list[str] | None = None) -> None:
    """Parse arguments (``sys.argv`` by default), optionally seed, and serve until interrupted."""
    parser = argparse.ArgumentParser(description="PowerOffice Go v2 API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--seed", action="store_true", help="load deterministic demo data")
    parser.add_argument("--rng-seed", type=int, default=2)
    parser.add_argument("--rate-limit", type=int, default=10, help="requests per second; 0 disables")
    args = parser.parse_args(argv)
    state = PowerOfficeState(rate_limit=args.rate_limit)
    if args.seed:
        created = seed(state, rng_seed=args.rng_seed)
        print(f"seeded: {', '.join(f'{k}={len(v)}' for k, v in created.items())}")
    print(f"PowerOffice Go v2 simulator on http://{args.host}:{args.port} "
          f"(app key {state.app_key!r}, client key {state.client_key!r}, subscription key {state.subscription_key!r})")
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
