"""Identities (勾稽关系): fill the one cell an identity determines, flag what the source breaks.

A printed value is never overwritten: a broken identity lowers the confidence of
every field in it and is reported as ``source_inconsistent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nianbao.schema import Identity, Schema

Number = int | float


@dataclass
class Validated:
    values: dict[str, Number | None]
    confidence: dict[str, float]
    flags: list[dict] = field(default_factory=list)


def _total(values: dict[str, Number | None], keys: tuple[str, ...]) -> Number:
    return sum(values[k] or 0 for k in keys)


def _infer(identity: Identity, values: dict[str, Number | None]) -> tuple[str, Number] | None:
    missing = [k for k in identity.fields if values[k] is None]
    if len(missing) != 1:
        return None
    key = missing[0]
    lhs, rhs = _total(values, identity.lhs), _total(values, identity.rhs)
    value = (rhs - lhs) if key in identity.lhs else (lhs - rhs)
    return (key, value) if value >= 0 else None


def validate(
    values: dict[str, Number | None], confidence: dict[str, float], schema: Schema, fmt: str
) -> Validated:
    out = Validated(dict(values), dict(confidence))
    identities = schema.identities[fmt]
    changed = True
    while changed:
        changed = False
        for identity in identities:
            found = _infer(identity, out.values)
            if found is None:
                continue
            key, value = found
            out.values[key] = value
            out.confidence[key] = 0.9 * min(out.confidence[k] for k in identity.fields if k != key)
            out.flags.append(
                {
                    "field": key,
                    "kind": "inferred",
                    "detail": f"not printed; {identity.id} ({identity.where}) gives {value}",
                }
            )
            changed = True
    for identity in identities:
        if any(out.values[k] is None for k in identity.fields):
            continue
        lhs, rhs = _total(out.values, identity.lhs), _total(out.values, identity.rhs)
        if abs(lhs - rhs) > 1e-6:
            out.flags.append(
                {
                    "identity": f"{identity.id}:{identity.where}",
                    "kind": "source_inconsistent",
                    "detail": f"{' + '.join(identity.lhs)} = {lhs} but {' + '.join(identity.rhs)} = {rhs}",
                }
            )
            for k in identity.fields:
                out.confidence[k] *= 0.5
        else:
            for k in identity.fields:
                out.confidence[k] = 1 - (1 - out.confidence[k]) * 0.7
    return out
