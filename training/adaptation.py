"""New-layout adaptation: how many labelled documents of an unseen layout retraining needs.

``python -m nianbao.training.adaptation [--config …] [--tracking-uri …]``: the province layout
(training/province.py) is scored with the model trained without it (k = 0: the shipped model when the
config is the shipped one), then with k labelled documents of it added to the training data (the
``--data`` path of ``nianbao train``: labels aligned through the gold values). Every k is scored on the
same fresh province documents and on the old formats (kept evaluation set v1 without scans); the curve
is logged to MLflow (experiment nianbao-adaptation) with its plot.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nianbao.training.config import TrainConfig, load_config
from nianbao.training.corpus import LabelCorpus
from nianbao.training.labelled import harvest
from nianbao.training.province import write_province_corpus
from nianbao.training.train import consistent, fit, label_corpus, plot_curve, score

EXPERIMENT = "nianbao-adaptation"
TEST_START = 10_000  # test documents are drawn far past any k: disjoint from the training documents


@dataclass(frozen=True)
class Point:
    k: int
    examples: int
    new_layout: float
    old_formats: float
    seconds: float


def adaptation_curve(config: TrainConfig, work: Path, old: list) -> list[Point]:
    """Accuracy on the new layout and on ``old`` (labelled documents) for each k of the config."""
    from nianbao.evaluation.synth.corpus import load_labelled

    a = config.adaptation
    write_province_corpus(work / "test", a.test_documents, a.seed, start=TEST_START)
    new = load_labelled(work / "test")
    base, _ = label_corpus(config, [])
    points = []
    for k in a.ks:
        started = time.perf_counter()
        examples: list[tuple[str, str]] = []
        if k:
            write_province_corpus(work / f"k{k}", k, a.seed)
            examples = consistent(harvest([work / f"k{k}"]).examples)
        weight = config.corpus.data_weight
        corpus = LabelCorpus(
            base.texts + [t for t, _ in examples] * weight, base.labels + [c for _, c in examples] * weight
        )
        model = fit(config, corpus)
        points.append(
            Point(
                k,
                len(examples),
                score(model, new).accuracy,
                score(model, old).accuracy,
                time.perf_counter() - started,
            )
        )
    return points


def log_curve(config: TrainConfig, points: list[Point], tracking_uri: str | None, work: Path) -> str:
    import mlflow

    from nianbao.training.registry import tracking_uri as resolve_uri

    mlflow.set_tracking_uri(resolve_uri(tracking_uri or config.mlflow.tracking_uri))
    mlflow.set_experiment(EXPERIMENT)
    plot = plot_curve(
        [(p.k, p.new_layout) for p in points],
        work / "adaptation_curve.png",
        "labelled documents of the new layout (k)",
        "province layout: accuracy vs k",
    )
    with mlflow.start_run() as run:
        mlflow.log_params(config.flat())
        for p in points:
            mlflow.log_metric("new_layout_accuracy", p.new_layout, step=p.k)
            mlflow.log_metric("old_formats_accuracy", p.old_formats, step=p.k)
            mlflow.log_metric("label_examples_added", p.examples, step=p.k)
        base = points[0]
        mlflow.log_metrics(
            {f"old_formats_drop_k{p.k}": base.old_formats - p.old_formats for p in points[1:]}
            | {f"new_layout_gain_k{p.k}": p.new_layout - base.new_layout for p in points[1:]}
        )
        mlflow.log_artifact(str(plot))
        return run.info.run_id


def main(argv: list[str] | None = None) -> None:
    from nianbao.training.promote import fixed_set

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--no-track", action="store_true")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as scratch:
        points = adaptation_curve(config, Path(scratch), fixed_set())
        for p in points:
            print(
                f"k={p.k:>2}: {p.examples:>4} label examples added; new layout {p.new_layout:.4%}, "
                f"old formats {p.old_formats:.4%} ({p.seconds:.0f} s)"
            )
        if not args.no_track:
            print(f"mlflow run {log_curve(config, points, args.tracking_uri, Path(scratch))}")
    print(f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")


if __name__ == "__main__":
    main()
