"""A synthesized corpus on disk: NAME<suffix> beside NAME.gold.json, a MANIFEST.json of every run and
file, and the loaders that find the labelled documents of any folder (synthesized or hand-labelled).

Why the loaders live with the writer: a labelled folder is this module's file layout, read back the same
way by the evaluation and by training.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
from collections.abc import Sequence
from pathlib import Path

from nianbao.evaluation.synth.content import draw
from nianbao.evaluation.synth.forms import GENERATOR_VERSION, TEXT_STYLES, make_report
from nianbao.evaluation.synth.layout import report_blocks
from nianbao.evaluation.synth.tables import GRID_RENDERINGS

MANIFEST = "MANIFEST.json"

# A labelled document: (path, name relative to the folder loaded, gold record).
Labelled = tuple[Path, str, dict]


def document_seed(corpus_seed: int, form: str, index: int) -> int:
    """Each document's own seed: a corpus is reproducible, and growing -n keeps the documents made before."""
    return random.Random(f"{corpus_seed}/{form}/{index}").getrandbits(31)


def gold_path(document: Path) -> Path:
    """NAME.gold.json beside NAME<suffix>."""
    return document.with_name(document.name.removesuffix(document.suffix) + ".gold.json")


def _write_one(job: tuple[Path, int, str]) -> Path:
    out_dir, doc_seed, form = job
    content, gold, _ = make_report(doc_seed, form)
    path = out_dir / gold["document"]
    path.write_bytes(content)
    gold_path(path).write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def write_corpus(out_dir: Path, n: int, forms: Sequence[str], seed: int, workers: int = 1) -> list[Path]:
    """Write n reports per form as NAME<suffix> + NAME.gold.json; return document paths in a fixed order.

    MANIFEST.json in the directory records each run (generator version, seed, forms, n) and every file's
    SHA-256, so a kept evaluation set can be checked for changes and remade.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(out_dir, document_seed(seed, form, i), form) for form in forms for i in range(n)]
    if workers <= 1 or len(jobs) < 8:
        paths = [_write_one(job) for job in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            paths = pool.map(_write_one, jobs, chunksize=4)
    _record_run(out_dir, {"generator": GENERATOR_VERSION, "seed": seed, "forms": list(forms), "n": n}, paths)
    return paths


def _record_run(out_dir: Path, run: dict, paths: list[Path]) -> None:
    manifest_path = out_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.is_file() else {}
    manifest.setdefault("runs", []).append(run)
    files = manifest.setdefault("files", {})
    for path in paths:
        for p in (path, gold_path(path)):
            files[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest["files"] = dict(sorted(files.items()))
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def printed_labels(corpus_seed: int, n: int) -> list[tuple[str, str]]:
    """(label as printed, concept) from n synthesized reports' tables: training data for the field mapper."""
    out: list[tuple[str, str]] = []
    for i in range(n):
        seed = document_seed(corpus_seed, "labels", i)
        d = draw(seed, random.Random(seed).choice(GRID_RENDERINGS[:4] + TEXT_STYLES), None)
        report_blocks(d)
        out += d.printed_labels
    return out


def find_labelled(directory: Path) -> list[tuple[Path, Path]]:
    """(document, gold) pairs: the gold's "document" name, else the file sharing its stem."""
    pairs = []
    for gold in sorted(directory.rglob("*.gold.json")):
        stem = gold.name[: -len(".gold.json")]
        named = json.loads(gold.read_text("utf-8")).get("document")
        candidates = [gold.parent / named] if named else []
        candidates += sorted(p for p in gold.parent.glob(stem + ".*") if not p.name.endswith(".gold.json"))
        document = next((c for c in candidates if c.is_file()), None)
        if document is not None:
            pairs.append((document, gold))
    return pairs


def load_labelled(directory: Path) -> list[Labelled]:
    """(document, name relative to ``directory``, gold) for every labelled document under it."""
    return [
        (document, document.relative_to(directory).as_posix(), json.loads(gold.read_text("utf-8")))
        for document, gold in find_labelled(directory)
    ]
