"""Functions a test sends to a worker process. This module imports nothing of nianbao, so what a worker
holds when it runs them is what it was started with, not what unpickling them imported."""

from __future__ import annotations

import sys


def loaded(module: str) -> bool:
    """Whether ``module`` is imported in this process."""
    return module in sys.modules
