"""Run the simulator standalone: ``python -m sandbox.exact --port 8085 --seed [--tls]``."""
from __future__ import annotations

import argparse

import uvicorn

from sandbox.exact import ExactState, create_app, seed


def main(argv: list[str] | None = None) -> None:
    """Parse arguments (``sys.argv`` by default), optionally seed, and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Exact Online REST API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--seed", action="store_true", help="load deterministic demo data")
    parser.add_argument("--rng-seed", type=int, default=7)
    parser.add_argument("--refresh-mode", choices=("grace", "strict"), default="grace")
    parser.add_argument("--daily-limit", type=int, default=5000)
    parser.add_argument("--minutely-limit", type=int, default=60)
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway test CA (needs trustme)")
    args = parser.parse_args(argv)
    state = ExactState(refresh_mode=args.refresh_mode, daily_limit=args.daily_limit,
                       minutely_limit=args.minutely_limit)
    if args.seed:
        counts = seed(state, rng_seed=args.rng_seed)
        print(f"seeded: {', '.join(f'division {d}={n}' for d, n in counts.items())}")
    ssl: dict[str, str] = {}
    if args.tls:
        from sandbox.common.tls import TestCA

        ca = TestCA.create()
        ssl = {"ssl_certfile": str(ca.cert_file), "ssl_keyfile": str(ca.key_file)}
        print(f"test CA: {ca.ca_file} (SSL_CERT_FILE for clients)")
    print(f"Exact Online simulator on {'https' if args.tls else 'http'}://{args.host}:{args.port} "
          f"(client id {state.client_id!r}, client secret {state.client_secret!r}, refresh mode {args.refresh_mode})")
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning", **ssl)


if __name__ == "__main__":
    main()
