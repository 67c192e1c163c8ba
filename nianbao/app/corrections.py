"""Reviewers' decisions as training labels: the JSON Lines that ``nianbao train --data`` reads.

One object per decision, oldest first, with exactly the keys of the label format (training/labelled.py):
document, field, value, reviewer, time. ``document`` is the file's absolute path, so the labels are read
the same wherever the corrections file is put. An accepted value is a label too: a person confirmed it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nianbao.store import Store

LABEL_KEYS = ("document", "field", "value", "reviewer", "time")


def export_corrections(store: Store, out: Path) -> int:
    """Write every review decision to ``out``; returns how many lines were written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for decision in store.corrections():
            label = {key: decision[key] for key in LABEL_KEYS}
            label["document"] = os.path.abspath(label["document"])
            handle.write(json.dumps(label, ensure_ascii=False, allow_nan=False) + "\n")
            count += 1
    return count
