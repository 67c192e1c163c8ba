"""Build every trained component from training/config.toml: ``nianbao train``.

Seeded end to end, so the same repository state and config make the same models. Each run is tracked in
MLflow (params = the config, metrics on a held-out synthesized set, the learning curve, the artifacts and
the model card) and the components are registered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nianbao import __version__
from nianbao.models import ARTIFACTS, DECODER, save_model
from nianbao.models.field_mapper import FieldMapper
from nianbao.training.config import TrainConfig, load_config
from nianbao.training.corpus import LabelCorpus, build_corpus
from nianbao.training.decoder import decoder_documents, fit_decoder, save_decoder
from nianbao.training.labelled import harvest

RUNS_DIR = "nianbao-runs"  # relative to the working directory: a run's artifacts, never the installed package


@dataclass
class TrainResult:
    card: dict
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[tuple[float, int, float]] = field(default_factory=list)  # (fraction, examples, accuracy)
    run_id: str | None = None
    tracking_uri: str | None = None  # the MLflow store the run was logged to
    versions: dict[str, str] = field(default_factory=dict)


def consistent(examples: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop examples whose text most documents align with another concept (a coincidence of values)."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for text, concept in examples:
        votes[text][concept] += 1
    return [(t, c) for t, c in examples if votes[t][c] == max(votes[t].values())]


def label_corpus(config: TrainConfig, data: list[str]) -> tuple[LabelCorpus, dict]:
    """The synthesized label corpus plus the examples of labelled documents and corrections."""
    c = config.corpus
    corpus = build_corpus(config.training.seed, c.per_concept, c.none_per_wording, c.synthesized_reports)
    sources = [str(config.path(p)) for p in c.data] + [str(Path(p).resolve()) for p in data]
    found = harvest(sources)
    extra = consistent(found.examples)
    texts = corpus.texts + [t for t, _ in extra] * c.data_weight
    labels = corpus.labels + [y for _, y in extra] * c.data_weight
    info = {
        "sources": sources,
        "documents": found.documents,
        "examples": len(extra),
        "dropped_inconsistent": len(found.examples) - len(extra),
        "skipped": found.skipped,
    }
    return LabelCorpus(texts, labels), info


def labelled_data(config: TrainConfig, data: list[str] | None) -> list:
    """The labelled documents (folders with NAME.gold.json) among the training data sources."""
    from nianbao.evaluation.synth.corpus import load_labelled

    sources = [config.path(p) for p in config.corpus.data] + [Path(p).resolve() for p in data or []]
    return [doc for source in sources if source.is_dir() for doc in load_labelled(source)]


def fit(config: TrainConfig, corpus: LabelCorpus) -> FieldMapper:
    params = {**config.field_mapper.__dict__, "char_ngram_range": tuple(config.field_mapper.char_ngram_range)}
    return FieldMapper(**params).fit(corpus.texts, corpus.labels)


def extractor_for(model: FieldMapper, card: dict | None = None):
    from nianbao.extraction.mapping import Decoder
    from nianbao.extraction.pipeline import Extractor
    from nianbao.extraction.scorer import LabelScorer
    from nianbao.schema import load_schema

    schema = load_schema()
    return Extractor(Decoder(LabelScorer(model), schema), schema, card or {})


def score(model: FieldMapper, labelled: list) -> object:
    """The whole extractor with ``model`` over labelled documents: an EvalReport."""
    from nianbao.evaluation.synth.scorecard import score_documents

    return score_documents(labelled, extractor_for(model))


def report_metrics(report, prefix: str) -> dict[str, float]:
    """Accuracy overall, per section, per form and per field, as flat MLflow metric names."""
    out = {f"{prefix}accuracy": report.accuracy, f"{prefix}meta_accuracy": report.meta.accuracy}
    for group, tallies in (
        ("section", report.by_section),
        ("form", report.by_form),
        ("field", report.by_field),
    ):
        out |= {f"{prefix}{group}_{name}": t.accuracy for name, t in tallies.items()}
    return out


def learning_curve(
    config: TrainConfig, corpus: LabelCorpus, full: FieldMapper, labelled: list
) -> list[tuple[float, int, float]]:
    """Held-out accuracy of models fitted on seeded shares of the label corpus."""
    points = []
    for fraction in config.learning_curve.fractions:
        if fraction >= 1:
            model, n = full, len(corpus.texts)
        else:
            rng = random.Random(f"{config.training.seed}/curve/{fraction}")
            keep = sorted(rng.sample(range(len(corpus.texts)), max(1, int(fraction * len(corpus.texts)))))
            part = LabelCorpus([corpus.texts[i] for i in keep], [corpus.labels[i] for i in keep])
            model, n = fit(config, part), len(keep)
        points.append((fraction, n, score(model, labelled).accuracy))
    return points


def plot_curve(points: list[tuple[float, float]], path: Path, xlabel: str, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=110)
    ax.plot([x for x, _ in points], [100 * y for _, y in points], marker="o", color="#2b6cb0")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("field accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def heldout_set(config: TrainConfig, directory: Path) -> list:
    from nianbao.evaluation.synth.corpus import load_labelled, write_corpus

    h = config.heldout
    write_corpus(directory, h.n, list(h.forms), h.seed)
    return load_labelled(directory)


# What a training run does, in order; `nianbao train` shows which it is in.
STAGES = (
    "label corpus",
    "field mapper",
    "held-out set",
    "row decoder",
    "learning curve",
    "sections",
    "tracking",
)


class Stages:
    """The stage a training run is in, as a bar on a terminal: a run takes minutes and would say nothing
    until its end. Off a terminal there is no bar; the end report is all a log needs."""

    def __init__(self, skipped: set[str]) -> None:
        from nianbao.progress import terminal_progress

        self.names = [name for name in STAGES if name not in skipped]
        self.bar = terminal_progress(None, len(self.names), "train", unit="stage")
        self.begun = False

    def __call__(self, name: str) -> None:
        """``name`` begins: the one before it is done."""
        if name not in self.names:
            raise ValueError(f"{name!r} is not one of this run's stages {self.names}")
        self.bar.update(self.begun)
        self.begun = True
        self.bar.set_description_str(f"train: {name}")

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.bar.update(self.begun)
        self.bar.close()


def _digest(corpus: LabelCorpus) -> str:
    return hashlib.sha256(
        "\n".join(f"{y}\t{x}" for x, y in zip(corpus.texts, corpus.labels, strict=True)).encode()
    ).hexdigest()


def train(
    config: TrainConfig,
    out: Path,
    data: list[str] | None = None,
    tracking_uri: str | None = None,
    register: str | None = None,
    sections: bool = True,
    track: bool = True,
) -> TrainResult:
    """Train, score, save to ``out``, and (``track``) log and register in MLflow."""
    started, cpu = time.perf_counter(), time.process_time()
    seed = config.training.seed
    skipped = {name for name, wanted in (("sections", sections), ("tracking", track)) if not wanted}
    with tempfile.TemporaryDirectory() as scratch, Stages(skipped) as stage:
        stage("label corpus")
        corpus, data_info = label_corpus(config, list(data or []))
        stage("field mapper")
        model = fit(config, corpus)
        work = Path(scratch)
        stage("held-out set")
        labelled = heldout_set(config, work / "heldout")
        report = score(model, labelled)
        metrics = report_metrics(report, "heldout_")
        stage("row decoder")
        decoder_docs = decoder_documents(config.decoder, work / "decoder", labelled_data(config, data))
        decoder = fit_decoder(model, decoder_docs, config.decoder)
        metrics |= {
            "decoder_accuracy": decoder.accuracy,
            "decoder_default_accuracy": decoder.default_accuracy,
        }
        stage("learning curve")
        curve = learning_curve(config, corpus, model, labelled)
        metrics |= {f"curve_accuracy_{int(100 * f)}": a for f, _, a in curve}
        sections_result = None
        if sections:
            from nianbao.training.sections import train_sections

            stage("sections")
            sections_result = train_sections(config, out / "sections", seed)
            metrics |= sections_result.metrics
        card = {
            "component": "field_mapper",
            "nianbao_version": __version__,
            "made_by": "nianbao train",
            "seed": seed,
            "config": config.flat(),
            "params": model.get_params(),
            "corpus": {
                "examples": len(corpus.texts),
                "classes": len(set(corpus.labels)),
                "sha256": _digest(corpus),
                "labelled_data": data_info,
            },
            "heldout": {
                "documents": len(labelled),
                "accuracy": round(report.accuracy, 6),
                "by_section": {k: round(t.accuracy, 6) for k, t in report.by_section.items()},
                "by_form": {k: round(t.accuracy, 6) for k, t in report.by_form.items()},
            },
            "learning_curve": [{"fraction": f, "examples": n, "accuracy": round(a, 6)} for f, n, a in curve],
            "sections": None
            if sections_result is None
            else {
                "metrics": {k: round(v, 6) for k, v in sections_result.metrics.items()},
                "examples": sections_result.examples,
            },
            "train_seconds": round(time.perf_counter() - started, 1),
            "train_cpu_seconds": round(time.process_time() - cpu, 1),
        }
        card["decoder"] = {"settings": decoder.settings, "accuracy": round(decoder.accuracy, 6)}
        save_model(model, out / "field_mapper.joblib", card)
        save_decoder(decoder, out, len(decoder_docs), list(config.decoder.forms) + data_info["sources"])
        result = TrainResult(card, metrics, curve)
        if track:
            stage("tracking")
            plot = plot_curve(
                [(n, a) for _, n, a in curve], work / "learning_curve.png", "label examples", "learning curve"
            )
            _track(config, result, out, plot, tracking_uri, register, sections_result is not None)
    return result


def _track(
    config: TrainConfig,
    result: TrainResult,
    out: Path,
    plot: Path,
    tracking_uri: str | None,
    register: str | None,
    with_sections: bool,
) -> None:
    import mlflow

    from nianbao.training.registry import log_component
    from nianbao.training.registry import tracking_uri as resolve_uri

    result.tracking_uri = resolve_uri(tracking_uri or config.mlflow.tracking_uri)
    mlflow.set_tracking_uri(result.tracking_uri)
    mlflow.set_experiment(config.mlflow.experiment)
    names = dict(zip(("field_mapper", "sections"), config.mlflow.register, strict=False))
    if register:
        names["field_mapper"] = register
    with mlflow.start_run() as run:
        mlflow.log_params(config.flat())
        mlflow.log_param("labelled_data", json.dumps(result.card["corpus"]["labelled_data"]["sources"]))
        mlflow.log_metrics(result.metrics)
        for _, n, accuracy in result.curve:
            mlflow.log_metric("learning_curve_accuracy", accuracy, step=n)
        mlflow.log_artifact(str(plot))
        mlflow.log_dict(result.card, "model_card.json")
        mlflow.log_artifact(str(out / DECODER.name))
        mlflow.log_params({f"decoder_fitted.{k}": v for k, v in result.card["decoder"]["settings"].items()})
        mlflow.set_tag("train_seconds", result.card["train_seconds"])
        result.run_id = run.info.run_id
        components = [("field_mapper", out / "field_mapper.joblib")]
        if with_sections:
            components.append(("sections", out / "sections"))
        for component, artifact in components:
            version = log_component(component, artifact, names.get(component), config.mlflow.alias)
            if version:
                result.versions[names[component]] = version


def artifact_directory(out: Path | None, install: bool) -> Path:
    """Where a run's artifacts go: the shipped ones only on ``install``, else ``out`` or a new folder
    under RUNS_DIR named by the UTC time, so a run never writes over the shipped model by accident."""
    if install:
        return ARTIFACTS
    return out or Path(RUNS_DIR) / f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.seed is not None:
        config = config.replace("training", seed=args.seed)
    out = artifact_directory(args.out, args.install)
    out.mkdir(parents=True, exist_ok=True)
    result = train(
        config,
        out,
        args.data,
        args.tracking_uri,
        args.register,
        sections=not args.no_sections,
        track=not args.no_track,
    )
    card = result.card
    print(
        f"field mapper: {card['corpus']['examples']} examples "
        f"({card['corpus']['labelled_data']['examples']} from {card['corpus']['labelled_data']['documents']} "
        f"labelled documents), held-out accuracy {card['heldout']['accuracy']:.4%} on "
        f"{card['heldout']['documents']} documents"
    )
    print("learning curve: " + ", ".join(f"{n} examples → {a:.4%}" for _, n, a in result.curve))
    decoder = card["decoder"]
    print(f"row decoder: weights {decoder['settings']}, {decoder['accuracy']:.4%} on converted tables")
    if card["sections"]:
        m = card["sections"]["metrics"]
        print(f"sections textcat: held-out accuracy {m['sections_accuracy']:.4%}")
    print(f"time: {card['train_seconds']} s wall, {card['train_cpu_seconds']} s CPU → {out}")
    if not args.install:
        print(
            f"extract with it: nianbao extract --model {out / 'field_mapper.joblib'} FILES "
            "(nianbao train --install writes over the shipped artifacts instead)"
        )
    if result.run_id:
        print(f"mlflow run {result.run_id}; registered {result.versions or 'nothing new'}")
        print(f"see the runs: mlflow ui --backend-store-uri {result.tracking_uri}")
    return 0
