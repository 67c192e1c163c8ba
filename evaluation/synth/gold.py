"""The gold record of a drawn report: what an extractor should give, and how the document was made.

Why completed here from the schema and not by the extractor's validation: the code under test must not
write its own answer key. The contract asks for the printed values plus each cell an identity
(勾稽关系, data/schema.yaml) determines, and that follows from the identities alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from nianbao.evaluation.synth.content import Doc, Value
from nianbao.schema import Identity


def complete(values: dict[str, Value], identities: Iterable[Identity]) -> dict[str, Value]:
    """``values`` with every cell that is the only blank of an identity filled with what the identity
    leaves for it, until no identity has a single blank; a negative remainder is no count and stays blank."""
    out, identities = dict(values), tuple(identities)
    filled = True
    while filled:
        filled = False
        for identity in identities:
            blanks = [k for k in identity.fields if out[k] is None]
            if len(blanks) != 1:
                continue
            lhs, rhs = identity.sides(out)
            remainder = rhs - lhs if blanks[0] in identity.lhs else lhs - rhs
            if remainder >= 0:
                out[blanks[0]] = remainder
                filled = True
    return out


def gold_record(d: Doc, document: str, form: str, style: str, seed: int, generator: str) -> dict:
    """The gold of a drawn report: what the contract asks of an extractor (printed values, plus the cells
    the identities determine) and how the document was made."""
    stated = complete(d.gold, d.schema.identities[d.fmt])
    fields = {k: (float(v) if v is not None and d.schema.is_decimal(k) else v) for k, v in stated.items()}
    return {
        "document": document,
        "meta": {"agency": d.agency, "year": d.year, "format": d.fmt},
        "fields": fields,
        "synth": {
            "form": form,
            "style": style,
            "seed": seed,
            "level": d.level,
            "profile": d.profile,
            "inconsistent": d.inconsistent,
            "generator": generator,
        },
    }
