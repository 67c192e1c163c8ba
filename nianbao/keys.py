"""The key an extraction is stored under: (pipeline version, model version).

Why a module of its own: a worker that has loaded the model says the key (``workers.warm``), the process
that plans and writes (``ingest``) decides by it what is stored already, and an upload's server computes
it for the model it loaded; none of them need the others' imports for it.
"""

from __future__ import annotations

import hashlib
import json

from nianbao import __version__

Key = tuple[str, str]  # (pipeline version, model version)


def model_version(card: dict) -> str:
    """A short fingerprint of the model card: two artifacts made differently never share it."""
    digest = hashlib.sha256(json.dumps(card, sort_keys=True, default=str).encode()).hexdigest()
    return f"{card.get('component', 'field_mapper')}:{digest[:16]}"


def extraction_key(card: dict) -> Key:
    """(pipeline version, model version) under which an extraction by this model is stored."""
    return __version__, model_version(card)
