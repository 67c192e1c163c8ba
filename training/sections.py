"""Train the sections pipeline (models/sections.py) with `spacy train`: a textcat naming the report section
of a heading or text block (its data: training/section_examples.py), and an ner finding agency names, label
AGENCY (its data: training/agency_examples.py); each scored on held-out seeds, and how the pipeline was
made written to its meta.json.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nianbao import __version__
from nianbao.extraction.meta import find_meta, reconcile
from nianbao.extraction.meta_ner import ner_meta, pick_agency
from nianbao.models.sections import AGENCY_LABEL, SECTION_LABELS, SectionReader
from nianbao.training.agency_examples import (
    HELD_OUT_SHAPES,
    NER_OCR_RATE,
    TRAINED_SHAPES,
    AgencyDoc,
    AgencyExample,
    agency_docs,
    meta_parts,
)
from nianbao.training.config import TrainConfig
from nianbao.training.section_examples import LABELS, examples

NER_TRAIN_DOCS = 2000  # synthesized report heads and tails whose regions train the ner
NER_DEV_DOCS = 300  # other seeds, trained shapes: spaCy's dev set and the "trained shapes" score
NER_HELD_OUT_DOCS = 400  # other seeds, held-out shapes only
NER_TRAINING = {  # `spacy train` overrides for the ner's run (the textcat's keep sections.cfg)
    "training.batcher.size.start": 400,
    "training.batcher.size.stop": 1500,
    "training.eval_frequency": 250,
}


@dataclass(frozen=True)
class SectionsResult:
    path: Path
    metrics: dict[str, float]
    examples: dict[str, int]
    seconds: float


def agency_accuracy(reader: SectionReader, docs: list[AgencyDoc], prefix: str) -> dict[str, float]:
    """The ner's reading of each region (right: the agency where the region names it, nothing where not),
    per source; and per document, the agency extraction reads (rules, the ner where they are doubtful)
    and the rules alone."""
    examples = [e for d in docs for e in d.examples]
    found = reader.agencies([e.text for e in examples])
    right, seen = Counter(), Counter()
    for e, spans in zip(examples, found, strict=True):
        got = pick_agency(e.source, spans)
        key = e.source if e.spans else f"{e.source}_unnamed"
        seen[key] += 1
        right[key] += got == (e.agency if e.spans else None)
    named = [k for k in seen if not k.endswith("_unnamed")]
    out = {f"{prefix}_region_{k}": right[k] / seen[k] for k in sorted(seen)}
    out[f"{prefix}_region_named"] = sum(right[k] for k in named) / max(sum(seen[k] for k in named), 1)
    doc_right = rules_right = 0
    for d in docs:
        rules = find_meta(d.lines)
        meta, _ = reconcile(rules, ner_meta(reader, d.lines) if rules.doubtful else None)
        doc_right += meta.agency == d.agency
        rules_right += reconcile(rules)[0].agency == d.agency
    out[f"{prefix}_document"] = doc_right / max(len(docs), 1)
    out[f"{prefix}_document_rules_only"] = rules_right / max(len(docs), 1)
    return out


def _ner_docs(nlp, examples: list[AgencyExample]) -> Iterator:
    """One token per character (unknown spaces: `spacy train` keeps these tokens), mentions as AGENCY."""
    from spacy.tokens import Doc, Span

    for e in examples:
        doc = Doc(nlp.vocab, words=list(e.text))
        doc.ents = [Span(doc, start, end, label=AGENCY_LABEL) for start, end in e.spans]
        yield doc


def _docbin(docs, path: Path) -> None:
    from spacy.tokens import DocBin

    bin_ = DocBin()
    for doc in docs:
        bin_.add(doc)
    bin_.to_disk(path)


def _section_docs(nlp, data: list[tuple[str, str]]) -> Iterator:
    """jieba's words, the section as cats."""
    for doc, label in zip(nlp.tokenizer.pipe(t for t, _ in data), (label for _, label in data), strict=True):
        doc.cats = {name: float(name == label) for name in LABELS}
        yield doc


def accuracy(reader: SectionReader, data: list[tuple[str, str]]) -> dict[str, float]:
    """Accuracy overall, on section headings, and per label (recall), on (text, label) pairs."""
    predicted = [label for label, _ in reader.classify([t for t, _ in data])]
    right, seen = Counter(), Counter()
    for (_, gold), got in zip(data, predicted, strict=True):
        seen[gold] += 1
        right[gold] += got == gold
    headings = [label for label in SECTION_LABELS if seen[label]]
    return {
        "accuracy": sum(right.values()) / max(len(data), 1),
        **{f"recall_{label}": right[label] / seen[label] for label in LABELS if seen[label]},
        "section_accuracy": sum(right[x] for x in headings) / max(sum(seen[x] for x in headings), 1),
    }


def train_sections(config: TrainConfig, out: Path, seed: int) -> SectionsResult:
    """`spacy train` with training/sections.cfg, once per component (textcat on section examples, ner on
    agency examples: neither pays for the other's data), joined into one pipeline at ``out``; the textcat
    and the ner (trained and held-out agency shapes) scored, and how it was made written to its meta.json."""
    import spacy
    from spacy.cli.train import train as spacy_train

    started, cpu = time.perf_counter(), time.process_time()
    cfg = config.sections
    train_data = examples(seed, cfg.train_reports, cfg.copies, config)
    dev_data = examples(seed + 1, cfg.dev_reports, cfg.copies, config)  # other document seeds
    ner_train = agency_docs(seed, NER_TRAIN_DOCS, config)
    ner_dev = agency_docs(seed + 1, NER_DEV_DOCS, config)  # other seeds, trained shapes
    ner_held_out = agency_docs(seed + 2, NER_HELD_OUT_DOCS, config, held_out=True)
    ner_examples = [e for d in ner_train for e in d.examples]
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    phases = {
        "textcat": (_section_docs(nlp, train_data), _section_docs(nlp, dev_data), {}),
        "ner": (
            _ner_docs(nlp, ner_examples),
            _ner_docs(nlp, [e for d in ner_dev for e in d.examples]),
            NER_TRAINING,
        ),
    }
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for name, (train_docs, dev_docs, settings) in phases.items():
            _docbin(train_docs, work / f"{name}-train.spacy")
            _docbin(dev_docs, work / f"{name}-dev.spacy")
            spacy_train(
                config.path(cfg.spacy_config),
                work / name,
                overrides={
                    "paths.train": str(work / f"{name}-train.spacy"),
                    "paths.dev": str(work / f"{name}-dev.spacy"),
                    "nlp.pipeline": [name],
                    "system.seed": seed,
                    "training.max_epochs": cfg.max_epochs,
                    "training.dropout": cfg.dropout,
                    **settings,
                },
            )
        joined = spacy.load(work / "textcat" / "model-last")
        joined.add_pipe("ner", source=spacy.load(work / "ner" / "model-last"))
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        joined.to_disk(out)
    reader = SectionReader(spacy.load(out))
    metrics = {f"sections_{k}": v for k, v in accuracy(reader, dev_data).items()}
    metrics |= agency_accuracy(reader, ner_dev, "sections_ner_trained")
    metrics |= agency_accuracy(reader, ner_held_out, "sections_ner_held_out")
    counts = {
        "train": len(train_data),
        "dev": len(dev_data),
        "ner_train": len(ner_examples),
        "ner_dev": sum(len(d.examples) for d in ner_dev),
        "ner_held_out": sum(len(d.examples) for d in ner_held_out),
    }
    seconds = time.perf_counter() - started
    _write_card(out, config, seed, metrics, counts, seconds, time.process_time() - cpu)
    return SectionsResult(out, metrics, counts, seconds)


def _write_card(
    out: Path, config: TrainConfig, seed: int, metrics, counts, seconds: float, cpu: float
) -> None:
    """How the pipeline was made, under "nianbao" in its meta.json (spaCy keeps unknown meta keys)."""
    parts_file = config.path(config.sections.patterns)
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["description"] = (
        "nianbao sections pipeline: textcat (report section of a heading or text block) and ner "
        "(AGENCY, one token per character) — built by `nianbao train` (training/sections.py)"
    )
    meta["nianbao"] = {
        "made_by": "nianbao train (training/sections.py)",
        "nianbao_version": __version__,
        "seed": seed,
        "config": dataclasses.asdict(config.sections),
        "examples": counts,
        "ner": {
            "label": AGENCY_LABEL,
            "tokens": "one per character (extraction.meta.regions: whitespace dropped, lines joined by \\n)",
            "data": "synthesized report heads and tails: page heading, title, opening sentence, signature",
            "parts": parts_file.name,
            "parts_sha256": hashlib.sha256(parts_file.read_bytes()).hexdigest(),
            "trained_shapes": TRAINED_SHAPES,
            "held_out_shapes": HELD_OUT_SHAPES,
            "held_out_markers": meta_parts(config)["held_out"],
            "documents": {"train": NER_TRAIN_DOCS, "dev": NER_DEV_DOCS, "held_out": NER_HELD_OUT_DOCS},
            "seeds": {"train": seed, "dev": seed + 1, "held_out": seed + 2},
            "ocr_rate": NER_OCR_RATE,
            "training_overrides": NER_TRAINING,
        },
        "metrics": {k: round(v, 6) for k, v in metrics.items()},
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu, 1),
    }
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")
