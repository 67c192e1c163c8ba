"""Identities (勾稽关系): fill the one cell an identity determines, flag what the source breaks.

A printed value is never overwritten: a broken identity lowers the confidence of
every field in it and is reported as ``source_inconsistent``. A value read by OCR is not
printed text but a reading of it: where exactly one single-digit change of one such value
restores every identity it takes part in, that change is made and flagged ``ocr_repaired``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nianbao.extraction.record import Flag, FlagKind
from nianbao.schema import Identity, Schema

Number = int | float


@dataclass(frozen=True)
class ValidationSettings:
    """How far the identities move the confidence of their fields: what an identity gives or restores is
    no surer than the fields it was worked out from, one that holds confirms its fields, and one the source
    breaks or leaves a gap in casts doubt on them. Unknown keys are refused (a frozen dataclass takes none).
    """

    # A blank an identity fills, or an OCR value it repairs, is this many times as sure as the least sure
    # other field of the identity (of every identity of the repaired value).
    inferred_trust: float = 0.9
    repaired_trust: float = 0.7
    held_doubt: float = 0.7  # share of its doubt (1 - confidence) a field keeps when its identity holds
    broken_trust: float = 0.5  # times the confidence of every printed field of an identity the source breaks
    # A null in an identity whose printed cells leave a gap is likely a lost cell, not an unstated one.
    gap_trust: float = 0.5


@dataclass
class Validated:
    values: dict[str, Number | None]
    confidence: dict[str, float]
    flags: list[Flag] = field(default_factory=list)
    # Per null field: +1 where an identity over it balances with the printed cells alone (the blank is
    # consistent with zero), -1 where its identity's printed cells fall short of a complete side.
    null_evidence: dict[str, int] = field(default_factory=dict)


def _infer(identity: Identity, values: dict[str, Number | None]) -> tuple[str, Number] | None:
    missing = [k for k in identity.fields if values[k] is None]
    if len(missing) != 1:
        return None
    key = missing[0]
    lhs, rhs = identity.sides(values)
    value = (rhs - lhs) if key in identity.lhs else (lhs - rhs)
    return (key, value) if value >= 0 else None


def _one_digit_changes(value: int) -> list[int]:
    text = str(value)
    changed = {int(text[:i] + d + text[i + 1 :]) for i in range(len(text)) for d in "0123456789"}
    return sorted(changed - {value})


def _repair_ocr(out: Validated, identities: list[Identity], ocr_read: set[str], trust: float) -> None:
    """Fix a misread digit when exactly one single-digit change of one OCR value makes every broken
    identity hold again and keeps all other identities of that value holding; the repaired value is
    ``trust`` times as sure as the least sure other field of those identities."""
    complete = [i for i in identities if all(out.values[k] is not None for k in i.fields)]
    broken = [i for i in complete if not i.holds(out.values)]
    if not broken:
        return
    suspects = {k for i in broken for k in i.fields if k in ocr_read and isinstance(out.values[k], int)}
    fixes = []
    for key in sorted(suspects):
        own = [i for i in complete if key in i.fields]
        if not all(i in own for i in broken):
            continue
        for candidate in _one_digit_changes(int(out.values[key])):  # type: ignore[arg-type]
            trial = {**out.values, key: candidate}
            if all(i.holds(trial) for i in own):
                fixes.append((key, candidate, own))
    if len(fixes) != 1:
        return
    key, value, own = fixes[0]
    detail = f"OCR read {out.values[key]}; the identities give {value}"
    out.flags.append(Flag.on_field(FlagKind.OCR_REPAIRED, key, detail))
    out.values[key] = value
    out.confidence[key] = trust * min(out.confidence[k] for i in own for k in i.fields if k != key)


def validate(
    values: dict[str, Number | None],
    confidence: dict[str, float],
    schema: Schema,
    fmt: str,
    ocr_read: set[str] | None = None,
    settings: ValidationSettings | None = None,
) -> Validated:
    """``ocr_read``: the fields whose values come from OCR, which a single-digit repair may change."""
    settings = settings or ValidationSettings()
    out = Validated(dict(values), dict(confidence))
    identities = schema.identities[fmt]
    if ocr_read:
        _repair_ocr(out, identities, ocr_read, settings.repaired_trust)
    changed = True
    while changed:
        changed = False
        for identity in identities:
            found = _infer(identity, out.values)
            if found is None:
                continue
            key, value = found
            out.values[key] = value
            out.confidence[key] = settings.inferred_trust * min(
                out.confidence[k] for k in identity.fields if k != key
            )
            detail = f"not printed; {identity.id} ({identity.where}) gives {value}"
            out.flags.append(Flag.on_field(FlagKind.INFERRED, key, detail))
            changed = True
    for identity in identities:
        complete = all(out.values[k] is not None for k in identity.fields)
        if complete and identity.holds(out.values):
            for k in identity.fields:
                out.confidence[k] = 1 - (1 - out.confidence[k]) * settings.held_doubt
            continue
        if complete:
            lhs, rhs = identity.sides(out.values)
            why = f"{' + '.join(identity.lhs)} = {lhs} but {' + '.join(identity.rhs)} = {rhs}"
        elif (why := _bound_broken(identity, out.values)) is None:
            _check_gap(identity, out, settings.gap_trust)
            continue
        named = [k for k in identity.fields if out.values[k] is not None]
        out.flags.append(
            Flag.on_identity(FlagKind.SOURCE_INCONSISTENT, f"{identity.id}:{identity.where}", named, why)
        )
        for k in named:
            out.confidence[k] *= settings.broken_trust
    return out


def _bound_broken(identity: Identity, values: dict[str, Number | None]) -> str | None:
    """Why an identity with blank cells on one side cannot hold whatever they hold, else None.

    The fields of an identity are counts: blanks on the right can only add to it, so the printed right
    side may not exceed a complete left side (and the other way round). A misread digit that makes a
    part larger than its total breaks this even when two or more cells of the row are blank.
    """
    open_lhs = any(values[k] is None for k in identity.lhs)
    open_rhs = any(values[k] is None for k in identity.rhs)
    lhs, rhs = identity.sides(values)
    if open_rhs and not open_lhs and rhs > lhs + 1e-6:
        return f"{' + '.join(identity.rhs)} printed = {rhs}, more than {' + '.join(identity.lhs)} = {lhs}"
    if open_lhs and not open_rhs and lhs > rhs + 1e-6:
        return f"{' + '.join(identity.lhs)} printed = {lhs}, more than {' + '.join(identity.rhs)} = {rhs}"
    return None


def _check_gap(identity: Identity, out: Validated, trust: float) -> None:
    """Nulls on one side of an identity whose other side is complete: if the printed cells already
    balance it, the blanks are consistent with zero; if they fall short, the nulls hold the gap (a
    row or cell lost on the way), are flagged ``identity_gap`` for review and ``trust`` times as sure."""
    values = out.values
    lhs, rhs = identity.sides(values)
    for open_side, full_side, gap in (
        (identity.rhs, identity.lhs, lhs - rhs),
        (identity.lhs, identity.rhs, rhs - lhs),
    ):
        nulls = [k for k in open_side if values[k] is None]
        if not nulls or any(values[k] is None for k in full_side):
            continue
        full, printed = (lhs, rhs) if full_side is identity.lhs else (rhs, lhs)
        if abs(gap) <= 1e-6:
            for k in nulls:
                out.null_evidence.setdefault(k, 1)
            return
        for k in nulls:
            out.null_evidence[k] = -1
            out.confidence[k] *= trust
        out.flags.append(
            Flag.on_identity(
                FlagKind.IDENTITY_GAP,
                f"{identity.id}:{identity.where}",
                nulls,
                f"{' + '.join(full_side)} = {full}, the printed cells of the other side sum to "
                f"{printed}: {gap:g} is missing among the {len(nulls)} blank cell(s)",
            )
        )
        return
