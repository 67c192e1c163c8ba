"""The evaluation as a directory that opens from disk (index.html, report.json, PNG plots beside them),
and the same directory logged as an MLflow run; the plots are drawn by ``plots.py``.

The page's wording is Chinese where the reader's is (field and section names); the plots stay ASCII.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from nianbao.evaluation.evaluate import EvalReport, Evaluation
from nianbao.evaluation.plots import COVERAGE_MARKS, write_plots
from nianbao.evaluation.synth.scorecard import Tally
from nianbao.models.calibration import REVIEW_TARGET
from nianbao.schema import load_schema

EXPERIMENT = "nianbao-evaluate"
TOP_CONFUSIONS = 20
WORST_SHOWN = 10
WRONG_PER_DOCUMENT = 40
MISTAKE_KINDS = {
    "confusion": "the value belongs to exactly one other field: its cell was filed under the wrong key",
    "ambiguous": "the value equals several other fields' values: which cell it was cannot be told",
    "misread": "a value was read, but it matches no field of the document",
    "missing": "the gold has a value, the extractor returned none",
    "spurious": "the gold is empty, the extractor returned a value",
    "absent": "the record has no such key (the document failed, or was read as the other format)",
}
_NUMERIC = re.compile(r"[+-]?[\d.]+(%| pt)?( \(\d+/\d+\))?$")  # 12, 0.5, 99.50% (199/200), +3.2 pt
CSS = """
body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 72em; color: #1a202c; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #cbd5e0; padding: 0.2em 0.6em; text-align: left; }
th { background: #edf2f7; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #e2e8f0; margin: 0.5em 0; }
nav a { margin-right: 1em; }
.note { color: #4a5568; font-size: 0.9em; }
"""


def _reports(evaluation: Evaluation) -> dict[str, EvalReport]:
    return {"trained": evaluation.trained} | (
        {"baseline": evaluation.baseline} if evaluation.baseline else {}
    )


# -- HTML --------------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """Numbers right-aligned; everything escaped."""
    numeric = isinstance(value, int | float) or _NUMERIC.match(str(value))
    opening = '<td class="n">' if numeric else "<td>"
    return f"{opening}{html.escape(str(value))}</td>"


def _table(header: list[str], rows: Iterable[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pct(t: Tally | None) -> str:
    return "–" if t is None else f"{t.accuracy:.2%} ({t.right}/{t.total})"


def _gain(mine: Tally | None, theirs: Tally | None) -> str:
    return "–" if mine is None or theirs is None else f"{(mine.accuracy - theirs.accuracy) * 100:+.2f} pt"


def _review(report: EvalReport) -> str:
    review = report.review(REVIEW_TARGET)
    return f"{review.share:.2%} of fields (confidence < {review.threshold:.3f})"


def _compare(
    reports: dict[str, EvalReport],
    pick: Callable[[EvalReport], dict[str, Tally]],
    first: str,
    keys: list[str] | None = None,
    describe: tuple[str, Callable[[str], str]] | None = None,
) -> str:
    """Rows of keys, a column per extractor and, with a baseline, the gain over it."""
    groups = {name: pick(r) for name, r in reports.items()}
    keys = keys if keys is not None else sorted(groups["trained"])
    header = [first, *([describe[0]] if describe else []), *groups, *(["gain"] if len(groups) > 1 else [])]
    rows = []
    for key in keys:
        tallies = [g.get(key) for g in groups.values()]
        gain = [_gain(*tallies)] if len(groups) > 1 else []
        rows.append([key, *([describe[1](key)] if describe else []), *map(_pct, tallies), *gain])
    return _table(header, rows)


def _field_zh(key: str) -> str:
    section, _, rest = key.partition(".")
    spec = load_schema().sections.get(section)
    if spec is None:
        return ""
    row, _, column = rest.rpartition(".")
    return f"{spec.rows.get(row, row)} · {spec.columns.get(column, column)}"


def _section_zh(name: str) -> str:
    spec = load_schema().sections.get(name)
    return spec.zh if spec else ""


def _summary(evaluation: Evaluation, reports: dict[str, EvalReport]) -> str:
    def zero_gold(r: EvalReport) -> Tally:
        return Tally(r.overall.right - r.non_zero.right, r.overall.total - r.non_zero.total)

    rows = {
        "field accuracy": lambda r: r.overall,
        "non-zero gold fields": lambda r: r.non_zero,
        "zero or empty gold fields": zero_gold,
        "meta (agency, year, format)": lambda r: r.meta,
    }
    tallies = _compare(reports, lambda r: {k: f(r) for k, f in rows.items()}, "measure", list(rows))
    card = evaluation.model_card
    facts = [
        ["directory", str(evaluation.directory)],
        ["documents", evaluation.n_documents],
        ["model", f"nianbao {card.get('nianbao_version')}, seed {card.get('seed')}"],
        *[[f"ECE ({name})", f"{r.reliability().ece:.4f}"] for name, r in reports.items()],
        *[[f"review to leave {REVIEW_TARGET:.1%} right ({name})", _review(r)] for name, r in reports.items()],
        *[[f"documents failed ({name})", len(r.errors)] for name, r in reports.items()],
        *[[f"seconds ({name})", f"{r.seconds:.2f}"] for name, r in reports.items()],
    ]
    return tallies + _table(["", "value"], facts)


def _confusions(reports: dict[str, EvalReport]) -> str:
    kinds = {name: r.mistake_kinds() for name, r in reports.items()}
    parts = [
        _table(
            ["kind", *reports, "meaning"],
            [
                [kind, *(k.get(kind, 0) for k in kinds.values()), meaning]
                for kind, meaning in MISTAKE_KINDS.items()
            ],
        )
    ]
    for name, report in reports.items():
        pairs = report.confusions()[:TOP_CONFUSIONS]
        parts.append(f"<h3>{name}: top {TOP_CONFUSIONS} true field → filed under</h3>")
        parts.append(
            _table(
                ["true field", "filed under", "count", "printed labels seen"],
                [
                    [
                        p["true_field"],
                        p["field"],
                        p["count"],
                        "; ".join(f"{k} ×{n}" for k, n in p["labels"].items()),
                    ]
                    for p in pairs
                ],
            )
            if pairs
            else '<p class="note">no confusions</p>'
        )
    return "".join(parts)


def _worst(report: EvalReport) -> str:
    parts = []
    for doc in report.worst_documents(WORST_SHOWN):
        error = f" — error: {doc['error']}" if doc["error"] else ""
        parts.append(
            f"<h4>{html.escape(doc['document'])} ({doc['form']}, format {doc['format']}): "
            f"{doc['accuracy']:.2%} ({doc['right']}/{doc['total']}){html.escape(error)}</h4>"
        )
        wrong = doc["wrong"]
        parts.append(
            _table(
                ["field", "expected", "got", "confidence", "why", "printed label", "where"],
                [
                    [
                        w["field"],
                        w["expected"],
                        w["got"],
                        w["confidence"],
                        f"{w['kind']} ← {w['true_field']}" if w["true_field"] else w["kind"],
                        w["label"] or "",
                        w["where"] or "",
                    ]
                    for w in wrong[:WRONG_PER_DOCUMENT]
                ],
            )
        )
        if len(wrong) > WRONG_PER_DOCUMENT:
            parts.append(f'<p class="note">… and {len(wrong) - WRONG_PER_DOCUMENT} more in report.json</p>')
    return "".join(parts) or '<p class="note">every document is fully right</p>'


def _calibration(reports: dict[str, EvalReport], plots: dict[str, str]) -> str:
    marks = [r.coverage(np.array(COVERAGE_MARKS)) for r in reports.values()]
    coverage_rows = [
        [f"{t:.2f}"]
        + [
            x
            for m in marks
            for x in (f"{m.coverage[i]:.2%}", "–" if np.isnan(m.accuracy[i]) else f"{m.accuracy[i]:.2%}")
        ]
        for i, t in enumerate(COVERAGE_MARKS)
    ]
    coverage_header = ["threshold", *(f"{n} {m}" for n in reports for m in ("coverage", "accuracy"))]
    bins = []
    for name, report in reports.items():
        rel = report.reliability()
        for i in np.flatnonzero(rel.count):
            bins.append(
                [
                    name,
                    f"{rel.lower[i]:.1f}–{rel.upper[i]:.1f}",
                    int(rel.count[i]),
                    f"{rel.confidence[i]:.4f}",
                    f"{rel.accuracy[i]:.4f}",
                ]
            )
    return (
        f'<img src="{plots["coverage"]}" alt="coverage vs accuracy">'
        + _table(coverage_header, coverage_rows)
        + f'<img src="{plots["reliability"]}" alt="reliability diagram">'
        + _table(["extractor", "confidence bin", "fields", "mean confidence", "accuracy"], bins)
    )


def _errors(reports: dict[str, EvalReport]) -> str:
    rows = [[name, doc, error] for name, r in reports.items() for doc, error in r.errors.items()]
    return _table(["extractor", "document", "error"], rows) if rows else '<p class="note">no errors</p>'


def render_html(evaluation: Evaluation, plots: dict[str, str]) -> str:
    reports = _reports(evaluation)
    trained = evaluation.trained
    # worst for the trained extractor first; among its equals, worst for the baseline first
    fields = sorted(trained.by_field, key=lambda k: (*(r.by_field[k].accuracy for r in reports.values()), k))
    form_docs = Counter(d["form"] for d in trained.documents.values())
    sections = {
        "summary": _summary(evaluation, reports),
        "per form": f'<img src="{plots["forms"]}" alt="accuracy per form">'
        + _compare(reports, lambda r: r.by_form, "form", describe=("documents", form_docs.__getitem__)),
        "per format": _compare(reports, lambda r: r.by_format, "format"),
        "per section": f'<img src="{plots["sections"]}" alt="accuracy per section">'
        + _compare(reports, lambda r: r.by_section, "section", describe=("zh", _section_zh)),
        "per field (worst first)": _compare(
            reports, lambda r: r.by_field, "field", fields, ("zh", _field_zh)
        ),
        "non-zero": '<p class="note">fields whose gold value is neither 0 nor empty: the numbers that '
        "carry information, where a template-shaped guess of zeros cannot look good.</p>"
        + _compare(reports, lambda r: {"non-zero gold fields": r.non_zero}, "", ["non-zero gold fields"]),
        "confusions": _confusions(reports),
        "worst documents": "".join(f"<h3>{name}</h3>{_worst(r)}" for name, r in reports.items()),
        "calibration": _calibration(reports, plots),
        "errors": _errors(reports),
    }
    nav = "".join(f'<a href="#{i}">{html.escape(title)}</a>' for i, title in enumerate(sections))
    body = "".join(
        f'<h2 id="{i}">{html.escape(title)}</h2>{content}'
        for i, (title, content) in enumerate(sections.items())
    )
    title = f"nianbao evaluation: {html.escape(str(evaluation.directory))}"
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body><h1>{title}</h1><nav>{nav}</nav>{body}</body></html>\n"
    )


def write_report(evaluation: Evaluation, out_dir: Path) -> Path:
    """Write index.html, report.json and the plots into ``out_dir``; return the index path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = _reports(evaluation)
    plots = write_plots(out_dir, reports)
    report_json = json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=1)
    (out_dir / "report.json").write_text(report_json + "\n", "utf-8")
    index = out_dir / "index.html"
    index.write_text(render_html(evaluation, plots), "utf-8")
    return index


# -- MLflow ------------------------------------------------------------------------------------------


def log_run(evaluation: Evaluation, report_dir: Path, tracking_uri: str, experiment: str = EXPERIMENT) -> str:
    """One MLflow run: params, metrics, and the report directory as artifacts; returns the run id.

    The client is given the URI directly, so no process-wide MLflow state is changed.
    """
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run_id = client.create_run(experiment_id, run_name=evaluation.directory.name).info.run_id
    try:
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in evaluation.metrics().items()],
            params=[Param(k, v) for k, v in evaluation.params().items()],
        )
        client.log_artifacts(run_id, str(report_dir), "report")
    except Exception:
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    return run_id
