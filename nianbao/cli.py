"""The ``nianbao`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from nianbao.extraction.readers import SUFFIXES


def iter_documents(paths: list[str]) -> Iterator[Path]:
    """Files as given; directories walked for report files (gold labels and hidden files skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix.lower() in SUFFIXES
                    and not child.name.endswith(".gold.json")
                    and not child.name.startswith(".")
                ):
                    yield child
        else:
            yield path


def _extract(args: argparse.Namespace) -> int:
    from nianbao.extraction.pipeline import Extractor

    extractor = Extractor.load(args.model)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    failed = 0
    try:
        for path in iter_documents(args.paths):
            record = extractor.extract(path)
            failed += record["error"] is not None
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if record["error"]:
                print(f"{path}: {record['error']}", file=sys.stderr)
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if failed else 0


def _evaluate(args: argparse.Namespace) -> int:
    import tempfile

    from nianbao.evaluation.evaluate import evaluate, format_forms, format_report

    evaluation = evaluate(Path(args.directory), model_path=args.model, baseline=not args.no_baseline)
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


def _synth(args: argparse.Namespace) -> int:
    import time

    from nianbao.evaluation.variants import FORMS, TEXT_STYLES, write_corpus

    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown = [f for f in forms if f not in FORMS + TEXT_STYLES]
    if unknown:
        print(f"unknown form(s) {', '.join(unknown)}; choose from {','.join(FORMS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    paths = write_corpus(Path(args.output), args.n, forms, args.seed, workers=args.workers)
    seconds = time.perf_counter() - started
    print(
        f"{len(paths)} reports ({args.n} per form: {', '.join(forms)}) with gold labels in {args.output}, "
        f"{seconds:.1f} s ({len(paths) / seconds:.1f} reports/s)"
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    from nianbao.training.train import train

    card = train(Path(args.out), args.seed) if args.out else train(seed=args.seed)
    print(json.dumps(card, ensure_ascii=False, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nianbao", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    extract = sub.add_parser("extract", help="extract records from reports (files or directories)")
    extract.add_argument("paths", nargs="+")
    extract.add_argument("-o", "--output", help="JSON Lines file (default: standard output)")
    extract.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    extract.set_defaults(run=_extract)

    evaluate = sub.add_parser(
        "evaluate", help="accuracy against NAME.gold.json labels, beside the naive baseline"
    )
    evaluate.add_argument("directory")
    evaluate.add_argument(
        "--min", type=float, help="exit 1 below this accuracy: a percent (99.5) or a fraction (0.995)"
    )
    evaluate.add_argument(
        "--report", metavar="OUT/", help="write index.html, report.json and the plots into this directory"
    )
    evaluate.add_argument(
        "--tracking-uri",
        help="log the run to MLflow here, e.g. sqlite:///mlflow.db "
        "(a file: directory needs MLFLOW_ALLOW_FILE_STORE=true)",
    )
    evaluate.add_argument("--no-baseline", action="store_true", help="do not run the naive baseline beside")
    evaluate.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    evaluate.add_argument("--show-wrong", type=int, default=50, help="how many wrong fields to list")
    evaluate.set_defaults(run=_evaluate)

    synth = sub.add_parser("synth", help="write synthesized reports with NAME.gold.json labels")
    synth.add_argument("-n", type=int, default=10, help="reports per form")
    synth.add_argument(
        "--forms",
        default="md,html,txt,docx,pdf,scan",
        help="comma-separated: md, html, txt, docx, pdf, scan (or a text style: layout, tsv, worddump, ocr)",
    )
    synth.add_argument("--seed", type=int, default=0, help="corpus seed: the same seed writes the same files")
    synth.add_argument("-o", "--output", required=True, help="directory to write")
    synth.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    synth.set_defaults(run=_synth)

    train = sub.add_parser("train", help="rebuild the field mapper from the label corpus (seeded)")
    train.add_argument("--out", help="artifact path (default: the shipped artifact)")
    train.add_argument("--seed", type=int, default=20240601)
    train.set_defaults(run=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
