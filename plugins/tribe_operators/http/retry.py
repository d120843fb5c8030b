"""One tenacity policy per hook, built from named parts (dlt's ``retry.py`` shape)."""
from __future__ import annotations

import logging

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from tribe_operators.exceptions import AmbiguousWriteError, BudgetExhaustedError, ErrorBudgetHeldError, RetryableError

__all__ = ["NEVER_RETRIED", "WaitRetryAfter", "build_retrying"]

# Left to the caller whatever class they may come to derive from: an ambiguous create is
# retried after a lookup; a spent budget or a held endpoint ends the task or holds the record —
# a retry would only spend calls the vendor refuses (and count toward its block).
NEVER_RETRIED = (AmbiguousWriteError, BudgetExhaustedError, ErrorBudgetHeldError)

log = logging.getLogger(__name__)


class WaitRetryAfter(wait_base):
    """Honour the server's ``Retry-After`` when it gave one, else back off exponentially.

    The wait is clamped to ``max_wait`` so a confused server cannot park a task for hours.
    """

    def __init__(self, fallback: wait_base, max_wait: float) -> None:
        self.fallback = fallback
        self.max_wait = max_wait

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        wait = float(hinted) if hinted is not None else self.fallback(retry_state)
        return max(0.0, min(wait, self.max_wait))


def build_retrying(*, max_attempts: int = 6, initial_wait: float = 0.5, max_wait: float = 60.0,
                   wait: wait_base | None = None) -> Retrying:
    """Retry ``RetryableError`` (429, 5xx, network, stale token); re-raise the last one typed.

    ``NEVER_RETRIED`` (an ambiguous create, a spent daily budget, a held endpoint) is left to
    the caller.

    Args:
        max_attempts: Attempts in total, the first included.
        initial_wait: First exponential back-off step in seconds.
        max_wait: Upper bound of any single wait.
        wait: Override the wait strategy (tests pass ``wait_none()``).
    """
    return Retrying(
        retry=retry_if_exception_type(RetryableError) & retry_if_not_exception_type(NEVER_RETRIED),
        wait=wait or WaitRetryAfter(wait_exponential_jitter(initial=initial_wait, max=max_wait), max_wait),
        stop=stop_after_attempt(max_attempts),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
