"""The demo's Exact Online act: authorize once, the import, the export back.

1. The app is authorized once, as a person would with ``oauth authorize`` (the simulator's test
   mode consents at once): the first refresh token goes encrypted into the link database;
2. ``exact_to_tribe`` imports the division's accounts (customers and suppliers: one organisation
   for both roles; matched by the debtor number, or by name + postcode + house number; blocked
   ones skipped), their contacts and its items (an ended item Inactive in Tribe);
3. ``tribe_to_exact`` exports what Tribe holds that Exact does not: a Tribe-born customer becomes
   an account, and Exact's number is written back over Tribe's.
A second demo run reuses the stored token chain, finds everything done and writes nothing.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

__all__ = ["authorize_once", "exact_story"]


def authorize_once(engine: Any) -> bool:
    """Store the app's first token pair unless the chain has one; True when it was authorized now."""
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    hook = ExactOnlineHook(link_engine=engine)
    if hook.token_store.read() is not None:
        return False
    flow = ExactAuthorization(hook)
    consent = requests.get(flow.url(), allow_redirects=False, timeout=10)  # the person's browser
    flow.complete(consent.headers["Location"])
    return True


def exact_story(bag: Any, engine: Any) -> list[tuple[str, Any]]:
    """Run the Exact DAGs; return the (label, dagrun) pairs."""
    authorize_once(engine)
    now = datetime.now(UTC)
    return [("import", bag.dags["exact_to_tribe"].test(logical_date=now)),
            ("export", bag.dags["tribe_to_exact"].test(logical_date=now + timedelta(minutes=5)))]
