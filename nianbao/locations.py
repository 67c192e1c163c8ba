"""Where a cell was read, as the store keeps it: a block ("table 2", "line 7", "page 1 table 2") by its
TextRow id and the cell's row and column as integers, taken apart from the extractor's one string and put
back together exactly."""

from __future__ import annotations

import re
from functools import lru_cache

# where a cell was read: a block ("table 2", "line 7", "page 1 table 2"), its row, its column
LOCATION = re.compile(r"^(?P<block>.+?)(?: row (?P<row>\d+))? col (?P<col>\d+)$")


@lru_cache(maxsize=4096)  # an archive's reports repeat the same few thousand places, ~200 a report
def split_location(where: str | None) -> tuple[str | None, int | None, int | None]:
    """(block, row, column) of a cell's place, as ``join_location`` gives it back exactly; a place of
    another shape is all block."""
    found = LOCATION.match(where or "")
    if found is None:
        return where, None, None
    row = None if found["row"] is None else int(found["row"])
    parts = (found["block"], row, int(found["col"]))
    return parts if join_location(*parts) == where else (where, None, None)


def join_location(block: str | None, row: int | None, col: int | None) -> str | None:
    """The place ``split_location`` took apart: "table 5 row 4 col 10"."""
    if block is None or col is None:
        return block
    return f"{block}{'' if row is None else f' row {row}'} col {col}"


__all__ = ["join_location", "split_location"]
