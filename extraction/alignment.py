"""Rows without a label of their own → template rows, by order.

PDF→Markdown converters print the labels of merged and wrapped cells outside the table, so a
table fragment holds rows of numbers only; the numbers keep the document's row order. Between two
rows whose own labels placed them (anchors), the numbers-only rows can only be template rows that
lie between the anchors' rows, in the same order. This module solves that as a monotone alignment
(dynamic programming, gaps allowed on both sides) and says how sure each placement is: its margin,
the score lost by the best alignment that places the row elsewhere or nowhere.

Pure functions over numbers: the decoder (mapping.py) supplies the gains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_ALLOWED = -np.inf


@dataclass(frozen=True)
class Placement:
    item: int  # index into the run of unplaced rows
    slot: int  # index into the free template rows
    margin: float  # score lost by the best alignment that does not place ``item`` at ``slot``


@dataclass(frozen=True)
class Alignment:
    score: float  # total gain
    pairs: tuple[tuple[int, int], ...]  # (item, slot), increasing in both


def _table(gains: np.ndarray) -> np.ndarray:
    """score[i, j]: the highest total gain of a monotone partial matching of the first i items to the
    first j slots (``gains[i, k]``: what placing item i at slot k adds; ``NOT_ALLOWED`` forbids it; an
    item or a slot may stay unmatched at no cost; matched pairs increase in both indices)."""
    n, k = gains.shape
    score = np.zeros((n + 1, k + 1))
    for i in range(1, n + 1):
        for j in range(1, k + 1):
            take = score[i - 1, j - 1] + gains[i - 1, j - 1]
            score[i, j] = max(score[i - 1, j], score[i, j - 1], take)
    return score


def _trace(score: np.ndarray, i: int, j: int) -> list[tuple[int, int]]:
    """The pairs of the best matching of the first i items to the first j slots, in order."""
    pairs: list[tuple[int, int]] = []
    while i > 0 and j > 0:
        if score[i, j] == score[i - 1, j]:
            i -= 1
        elif score[i, j] == score[i, j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _best(gains: np.ndarray) -> Alignment:
    score = _table(gains)
    n, k = gains.shape
    return Alignment(float(score[n, k]), tuple(_trace(score, n, k)))


def _allowed(gains: np.ndarray) -> np.ndarray:
    """Only positive gains are taken."""
    return np.where(gains > 0, gains, NOT_ALLOWED)


def alternatives(gains: np.ndarray) -> list[Alignment]:
    """The rivals a placement is weighed against, the best alignment first: for every allowed pair the
    best alignment that makes it (a run shifted by one row is one of these), and for each pair of the
    best the best alignment without it. Only positive gains are taken."""
    gains = _allowed(gains)
    if gains.size == 0:
        return []
    n, k = gains.shape
    before = _table(gains)
    after = _table(gains[::-1, ::-1])  # after[a, b]: the best over the last a items and last b slots
    first = Alignment(float(before[n, k]), tuple(_trace(before, n, k)))
    out = [first]
    for i, j in zip(*np.nonzero(np.isfinite(gains)), strict=True):
        i, j = int(i), int(j)
        tail = [(n - 1 - a, k - 1 - b) for a, b in _trace(after, n - 1 - i, k - 1 - j)][::-1]
        pairs = (*_trace(before, i, j), (i, j), *tail)
        out.append(Alignment(float(before[i, j] + gains[i, j] + after[n - 1 - i, k - 1 - j]), pairs))
    return list({a.pairs: a for a in out + without_each(gains, first)}.values())


def without_each(gains: np.ndarray, alignment: Alignment) -> list[Alignment]:
    """For each pair of ``alignment``, the best alignment without it (the rival of that placement that
    the alternatives through other pairs may miss: the one that leaves its item unplaced)."""
    gains = _allowed(gains)
    out = []
    for pair in alignment.pairs:
        without = gains.copy()
        without[pair] = NOT_ALLOWED
        out.append(_best(without))
    return out


def margins(chosen: Alignment, rivals: list[Alignment], worth: dict[tuple, float]) -> list[Placement]:
    """Each pair of ``chosen`` with its margin: how much more ``chosen`` is worth than the best rival
    that does not make that pair (``worth``: value of an alignment, keyed by its pairs)."""
    out = []
    for item, slot in chosen.pairs:
        best_rival = max((worth[r.pairs] for r in rivals if (item, slot) not in r.pairs), default=0.0)
        out.append(Placement(item, slot, worth[chosen.pairs] - best_rival))
    return out


def align_in_order(gains: np.ndarray) -> list[Placement]:
    """Place a run of rows (``gains`` rows, in document order) at free template rows (columns, in
    template order) monotonically; each placement with its margin. Only positive gains are taken."""
    found = alternatives(gains)
    if not found:
        return []
    return margins(found[0], found, {a.pairs: a.score for a in found})
