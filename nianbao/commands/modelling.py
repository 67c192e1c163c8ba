"""The field mapper's life: ``nianbao synth`` writes labelled reports, ``train`` fits on them,
``evaluate`` scores a model against labels and ``promote`` moves the production alias."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nianbao.commands.common import chosen_model


def evaluate_command(args: argparse.Namespace) -> int:
    import tempfile

    from nianbao.evaluation.evaluate import evaluate
    from nianbao.evaluation.summary import format_forms, format_report

    evaluation = evaluate(Path(args.directory), model_path=chosen_model(args), baseline=not args.no_baseline)
    print(format_report(evaluation.trained, show_wrong=args.show_wrong))
    print(format_forms(evaluation))
    if args.report or args.tracking_uri:
        from nianbao.evaluation.report import log_run, write_report

        with tempfile.TemporaryDirectory() as scratch:  # MLflow wants the report even when it is not kept
            out = Path(args.report or scratch)
            index = write_report(evaluation, out)
            if args.report:
                print(f"report: {index}")
            if args.tracking_uri:
                print(f"mlflow run {log_run(evaluation, out, args.tracking_uri)} at {args.tracking_uri}")
    accuracy = evaluation.trained.accuracy
    least = None if args.min is None else args.min / 100 if args.min > 1 else args.min
    if least is not None and accuracy < least:
        print(f"accuracy {accuracy:.2%} is below --min {least:.2%}", file=sys.stderr)
        return 1
    return 0


def synth_command(args: argparse.Namespace) -> int:
    import time

    from nianbao.evaluation.synth.corpus import write_corpus
    from nianbao.evaluation.synth.forms import FORMS, PDF_STYLES, SCAN_STYLES, TEXT_STYLES

    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    known = FORMS + TEXT_STYLES + PDF_STYLES + SCAN_STYLES
    unknown = [f for f in forms if f not in known]
    if unknown:
        print(f"unknown form(s) {', '.join(unknown)}; choose from {','.join(known)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    paths = write_corpus(Path(args.output), args.n, forms, args.seed, workers=args.workers)
    seconds = time.perf_counter() - started
    print(
        f"{len(paths)} reports ({args.n} per form: {', '.join(forms)}) with gold labels in {args.output}, "
        f"{seconds:.1f} s ({len(paths) / seconds:.1f} reports/s)"
    )
    return 0


def train_command(args: argparse.Namespace) -> int:
    from nianbao.training.config import ConfigError
    from nianbao.training.labelled import CorrectionError
    from nianbao.training.train import run

    try:
        return run(args)
    except (ConfigError, CorrectionError) as exc:
        print(exc, file=sys.stderr)
        return 2


def promote_command(args: argparse.Namespace) -> int:
    from nianbao.training.promote import promote

    return promote(args.name, args.version, force=args.force, tracking=args.tracking_uri)
