"""Run the Tribe simulator standalone: ``python -m sandbox.tribe --port 8081 --seed``."""
from __future__ import annotations

import argparse

import uvicorn

from sandbox.tribe import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TribeState, create_app, seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.tribe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", action="store_true", help="fill the tenant with Dutch demo data")
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--persons", type=int, default=50)
    parser.add_argument("--products", type=int, default=30)
    parser.add_argument("--rng-seed", type=int, default=1)
    parser.add_argument("--rate-limit", type=int, default=1000, help="calls per client per minute (0 = off)")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access-token lifetime in seconds")
    args = parser.parse_args(argv)

    state = TribeState(rate_limit=args.rate_limit, token_ttl_s=args.token_ttl)
    if args.seed:
        counts = seed(state, organisations=args.organisations, persons=args.persons,
                      products=args.products, rng_seed=args.rng_seed)
        print("seeded:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"Tribe simulator on http://{args.host}:{args.port}  token: POST /oauth2/token "
          f"(client_id={DEFAULT_CLIENT_ID}, client_secret={DEFAULT_CLIENT_SECRET})  OData: /v1/odata")
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
