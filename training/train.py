"""Rebuild the shipped field mapper from the label corpus: ``python -m nianbao.training.train``.

Seeded end to end, so the same repository state makes the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from nianbao import __version__
from nianbao.models import FIELD_MAPPER, save_model
from nianbao.models.field_mapper import FieldMapper
from nianbao.training.corpus import build_corpus

SEED = 20240601


def train(out: Path = FIELD_MAPPER, seed: int = SEED) -> dict:
    started = time.perf_counter()
    corpus = build_corpus(seed)
    model = FieldMapper().fit(corpus.texts, corpus.labels)
    digest = hashlib.sha256(
        "\n".join(f"{y}\t{x}" for x, y in zip(corpus.texts, corpus.labels, strict=True)).encode()
    ).hexdigest()
    card = {
        "component": "field_mapper",
        "nianbao_version": __version__,
        "made_by": "python -m nianbao.training.train",
        "seed": seed,
        "params": model.get_params(),
        "corpus": {
            "examples": len(corpus.texts),
            "classes": len(set(corpus.labels)),
            "sha256": digest,
            "sources": [
                "data/schema.yaml official wordings",
                "data/labels.yaml variants",
                "training/corpus.py perturbations",
                "evaluation/variants.py labels printed in synthesized reports (document seeds drawn from "
                "the training seed under the name 'labels', disjoint from evaluation corpora)",
            ],
        },
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    save_model(model, out, card)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=FIELD_MAPPER)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    card = train(args.out, args.seed)
    print(
        f"field mapper: {card['corpus']['examples']} examples, {card['corpus']['classes']} classes, "
        f"{card['train_seconds']} s → {args.out}"
    )


if __name__ == "__main__":
    main()
