"""The evaluation as the terminal prints it: per document, section and form, the wrong fields, review."""

from __future__ import annotations

from collections import Counter

from nianbao.evaluation.evaluate import EvalReport, Evaluation
from nianbao.models import review_policy


def format_report(report: EvalReport, show_wrong: int = 50) -> str:
    lines = ["document                                  fields   right  accuracy"]
    for name, t in report.by_document.items():
        lines.append(f"{name[:40]:<40} {t.total:>7} {t.right:>7}  {t.accuracy:8.2%}")
    lines.append("")
    for section, t in sorted(report.by_section.items()):
        lines.append(f"section {section}: {t.right}/{t.total} = {t.accuracy:.2%}")
    lines.append(
        f"meta (agency, year, format): {report.meta.right}/{report.meta.total} = {report.meta.accuracy:.2%}"
    )
    lines.append(
        f"non-zero fields: {report.non_zero.right}/{report.non_zero.total} = {report.non_zero.accuracy:.2%}"
    )
    for name, error in report.errors.items():
        lines.append(f"error {name}: {error}")
    if report.wrong:
        lines.append(f"wrong fields ({len(report.wrong)}):")
        for w in report.wrong[:show_wrong]:
            why = f"{w['kind']}, true field {w['true_field']}" if w["true_field"] else w["kind"]
            label = f", label {w['label']!r} at {w['where']}" if w["label"] else ""
            lines.append(
                f"  {w['document']}  {w['field']}: expected {w['expected']}, got {w['got']} "
                f"(confidence {w['confidence']}; {why}{label})"
            )
    lines.append(f"field accuracy: {report.overall.right}/{report.overall.total} = {report.accuracy:.2%}")
    review, policy = report.review(), report.under_policy(review_policy())
    lines.append(f"calibration: ECE {report.reliability().ece:.4f}")
    lines.append(
        f"review: {review.share:.2%} of fields (confidence < {review.threshold:.3f}) to a reviewer leaves "
        f"{review.kept_accuracy:.3%} right on the rest (target {review.target:.1%}; the least review here)"
    )
    lines.append(
        f"review policy in force: {policy.share:.2%} of fields (confidence < {policy.threshold:.3f} "
        f"or a doubt flag) to a reviewer, {policy.kept_accuracy:.3%} right on the rest"
    )
    return "\n".join(lines)


def format_forms(evaluation: Evaluation) -> str:
    """Accuracy per input form, the trained extractor beside the baseline."""
    trained, baseline = evaluation.trained, evaluation.baseline
    docs = Counter(d["form"] for d in trained.documents.values())
    rows = [
        (form, docs[form], t, baseline.by_form.get(form) if baseline else None)
        for form, t in sorted(trained.by_form.items())
    ]
    rows.append(("all", evaluation.n_documents, trained.overall, baseline.overall if baseline else None))
    lines = ["form      documents   trained" + ("  baseline   gain" if baseline else "")]
    for form, n, mine, theirs in rows:
        line = f"{form:<9} {n:>9}  {mine.accuracy:8.2%}"
        if theirs is not None:
            line += f"  {theirs.accuracy:8.2%}  {(mine.accuracy - theirs.accuracy) * 100:+6.2f}"
        lines.append(line)
    return "\n".join(lines)
