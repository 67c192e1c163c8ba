"""Progress on a terminal for runs that take minutes (an evaluation, a training run), silent elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")


def terminal_progress(items: Iterable[T] | None, total: int, what: str, unit: str = "doc") -> tqdm:
    """A tqdm bar over ``items`` (None: updated by hand) on standard error when that is a terminal (an
    evaluation or a training run takes minutes), and nothing otherwise (tqdm's ``disable=None``): a log or
    a pipe gets the report alone. The bar goes when done, so nested bars (training's stages, then its
    scorings) leave no trace."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=what, unit=unit, disable=None, leave=False)
