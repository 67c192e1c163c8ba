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


def _best(gains: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """The highest total gain of a monotone partial matching of items to slots, and its pairs.

    ``gains[i, k]`` is what placing item i at slot k adds (``NOT_ALLOWED`` forbids it); an item or a
    slot may stay unmatched at no cost, and matched pairs increase in both indices.
    """
    n, k = gains.shape
    score = np.zeros((n + 1, k + 1))
    for i in range(1, n + 1):
        for j in range(1, k + 1):
            take = score[i - 1, j - 1] + gains[i - 1, j - 1]
            score[i, j] = max(score[i - 1, j], score[i, j - 1], take)
    pairs: list[tuple[int, int]] = []
    i, j = n, k
    while i > 0 and j > 0:
        if score[i, j] == score[i - 1, j]:
            i -= 1
        elif score[i, j] == score[i, j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return float(score[n, k]), pairs[::-1]


def align_in_order(gains: np.ndarray) -> list[Placement]:
    """Place a run of rows (``gains`` rows, in document order) at free template rows (columns, in
    template order) monotonically; each placement with its margin. Only positive gains are taken."""
    gains = np.where(gains > 0, gains, NOT_ALLOWED)
    if gains.size == 0:
        return []
    total, pairs = _best(gains)
    placements = []
    for item, slot in pairs:
        without = gains.copy()
        without[item, slot] = NOT_ALLOWED
        placements.append(Placement(item, slot, total - _best(without)[0]))
    return placements
