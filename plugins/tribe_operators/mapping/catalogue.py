"""Every named transform a mapping file may use: the core's (text, numbers, addresses, end dates…) and
those each system brings (``System.transforms``), a name defined twice being an error."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tribe_operators.mapping.addresses import ADDRESS_TRANSFORMS
from tribe_operators.mapping.lifecycle import LIFECYCLE_TRANSFORMS
from tribe_operators.mapping.transforms import TRANSFORMS

__all__ = ["known_transforms"]


@functools.cache
def known_transforms() -> dict[str, Callable[..., Any]]:
    """The core's transforms and those each system brings (``System.transforms``)."""
    from tribe_operators.registry import system_transforms

    core = {**TRANSFORMS, **ADDRESS_TRANSFORMS, **LIFECYCLE_TRANSFORMS}
    return {**core, **system_transforms(set(core))}
