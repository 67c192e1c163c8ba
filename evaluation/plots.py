"""The evaluation's figures as PNG files: accuracy per form and per section, coverage against accuracy as
the confidence threshold rises, and a reliability diagram per extractor (trained, baseline).

Plots use matplotlib's object API (``Figure``), so no global backend is switched; their labels stay
ASCII (field keys, form names) so that no CJK font is needed. The Chinese wording is in the HTML tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nianbao.evaluation.evaluate import EvalReport
from nianbao.evaluation.synth.scorecard import Tally

COLORS = {"trained": "#2b6cb0", "baseline": "#c05621"}
COVERAGE_MARKS = (0.5, 0.8, 0.9, 0.95, 0.99)  # thresholds shown in the coverage table and on the curve
MARKERS = ("o", "s", "^", "D", "v")


def write_plots(out_dir: Path, reports: dict[str, EvalReport]) -> dict[str, str]:
    """Every figure of the report into ``out_dir``: the file name of each, by the name the page uses."""
    return {
        "forms": plot_accuracy(
            out_dir / "forms.png", "field accuracy per input form", {n: r.by_form for n, r in reports.items()}
        ),
        "sections": plot_accuracy(
            out_dir / "sections.png",
            "field accuracy per section",
            {n: r.by_section for n, r in reports.items()},
        ),
        "coverage": plot_coverage(out_dir / "coverage.png", reports),
        "reliability": plot_reliability(out_dir / "reliability.png", reports),
    }


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def plot_accuracy(path: Path, title: str, groups: dict[str, dict[str, Tally]]) -> str:
    """Grouped bars: one group per key (form, section), one bar per extractor, percentages on top."""
    keys = sorted(set().union(*groups.values()))
    width = 0.8 / len(groups)
    fig = Figure(figsize=(max(5.0, 1.2 * len(keys) + 2), 3.8))
    ax = fig.add_subplot()
    for i, (name, group) in enumerate(groups.items()):
        x = np.arange(len(keys)) + (i - (len(groups) - 1) / 2) * width
        heights = [group[k].accuracy * 100 if k in group else 0.0 for k in keys]
        bars = ax.bar(x, heights, width, label=name, color=COLORS[name])
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    ax.set_xticks(np.arange(len(keys)), keys)
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("field accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", ncol=len(groups), fontsize=8)
    return _save(fig, path)


def plot_coverage(path: Path, reports: dict[str, EvalReport]) -> str:
    """Accuracy of the fields kept against the share kept, as the confidence threshold rises."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for name, report in reports.items():
        curve = report.coverage()
        ax.plot(curve.coverage * 100, curve.accuracy * 100, "-", color=COLORS[name], label=name)
        marks = report.coverage(np.array(COVERAGE_MARKS))
        for coverage, accuracy, marker in zip(marks.coverage, marks.accuracy, MARKERS, strict=True):
            if coverage > 0:
                ax.plot(coverage * 100, accuracy * 100, marker, color=COLORS[name], markersize=6)
    for t, marker in zip(COVERAGE_MARKS, MARKERS, strict=True):  # legend entries for the threshold marks
        ax.plot([], [], marker, color="black", fillstyle="none", label=f"t = {t}")
    ax.set_xlabel("coverage: fields with confidence >= t (%)")
    ax.set_ylabel("accuracy of those fields (%)")
    ax.set_title("coverage vs accuracy, threshold t from 0 to 1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_reliability(path: Path, reports: dict[str, EvalReport]) -> str:
    """One reliability diagram per extractor: accuracy per confidence bin against the diagonal."""
    fig = Figure(figsize=(5.0 * len(reports), 4.4))
    for i, (name, report) in enumerate(reports.items()):
        ax = fig.add_subplot(1, len(reports), i + 1)
        rel = report.reliability()
        filled = rel.count > 0
        width = (rel.upper - rel.lower)[filled]
        bars = ax.bar(
            rel.lower[filled],
            rel.accuracy[filled],
            width,
            align="edge",
            color=COLORS[name],
            edgecolor="black",
        )
        ax.bar_label(bars, labels=[f"n={c}" for c in rel.count[filled]], fontsize=7, padding=2, rotation=90)
        ax.plot(rel.confidence[filled], rel.accuracy[filled], "kx")
        ax.plot([0, 1], [0, 1], "--", color="gray", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.3)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_xlabel("confidence (bar: bin; x: mean confidence in it)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{name}: ECE = {rel.ece:.4f}")
    return _save(fig, path)
