"""The ``nianbao`` command line."""

from __future__ import annotations

import argparse
import json
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
                    and child.suffix.lower() in SUFFIXES | {".pdf"}
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
    from nianbao.evaluation.evaluate import evaluate_dir, format_report

    report = evaluate_dir(Path(args.directory), model_path=args.model)
    print(format_report(report, show_wrong=args.show_wrong))
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    least = None if args.min is None else args.min / 100 if args.min > 1 else args.min
    if least is not None and report.accuracy < least:
        print(f"accuracy {report.accuracy:.2%} is below --min {least:.2%}", file=sys.stderr)
        return 1
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

    evaluate = sub.add_parser("evaluate", help="field accuracy against NAME.gold.json labels")
    evaluate.add_argument("directory")
    evaluate.add_argument(
        "--min", type=float, help="exit 1 below this accuracy: a percent (99.5) or a fraction (0.995)"
    )
    evaluate.add_argument("--report", help="write the full evaluation as JSON here")
    evaluate.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    evaluate.add_argument("--show-wrong", type=int, default=50, help="how many wrong fields to list")
    evaluate.set_defaults(run=_evaluate)

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
