"""The ``nianbao`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nianbao.commands.database import (
    batch_command,
    check_command,
    export_command,
    review_export_command,
    serve_command,
)
from nianbao.commands.documents import EXTRACT_FORMATS, extract_command, inspect_command
from nianbao.commands.modelling import evaluate_command, promote_command, synth_command, train_command
from nianbao.defaults import DEFAULT_URL as DEFAULT_DB
from nianbao.errors import UserError


def processes(text: str) -> int:
    """A --workers value: a whole number of processes, one or more (argparse reports anything else)."""
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text} is no number of processes: give 1 or more")
    return count


THRESHOLD_HELP = "calibrated confidence accepted without review (default: the shipped review policy's)"
EXISTING_DB_HELP = "database URL of an existing database, as nianbao batch made it"
MODEL_HELP = (
    "field mapper: an artifact path or a registry URI such as "
    "models:/nianbao-field-mapper@production (default: the shipped artifact)"
)
MODEL_STORE_HELP = "MLflow store for a models:/ URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
EVALUATE_STORE_HELP = (
    "log the run to MLflow here, e.g. sqlite:///mlflow.db (a file: directory needs "
    "MLFLOW_ALLOW_FILE_STORE=true); a models:/ --model is read from it too (default: not logged; a models:/ "
    "URI read from $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
)


EXIT_STATUSES = """\
exit status: 0 done; 1 a file failed or a check did not pass (evaluate --min, promote of a worse model);
2 refused: a usage mistake, a database, path, tracking store or model that cannot be used. A refusal is
one line on standard error: CODE: cause — fix."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, unless the help words it itself (a default of None means
    something only the help can say); descriptions and examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        unsaid = action.default is None or action.default is False or action.default == []
        if unsaid or action.required or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _subcommand(
    sub: argparse._SubParsersAction, name: str, summary: str, *examples: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its summary, every default and an example or two."""
    return sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="example:\n" + "\n".join(f"  {e}" for e in examples),
        formatter_class=HelpFormatter,
    )


def _reads_db_writes_file(command: argparse.ArgumentParser) -> None:
    """--db of a database batch made, -o of the file written from it (export, review export)."""
    command.add_argument("--db", default=DEFAULT_DB, help=EXISTING_DB_HELP)
    command.add_argument("-o", "--output", required=True, help="file to write; its folder must exist")


def _model_options(command: argparse.ArgumentParser, store_help: str = MODEL_STORE_HELP) -> None:
    """--model and --tracking-uri, worded alike on every command that loads the field mapper (extract,
    evaluate, batch, inspect); commands/common.py's ``chosen_model`` reads them."""
    command.add_argument("--model", help=MODEL_HELP)
    command.add_argument("--tracking-uri", help=store_help)


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(
        prog="nianbao",
        description=__doc__,
        epilog="example:\n  nianbao extract data/samples -o records.jsonl\n\n" + EXIT_STATUSES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('nianbao')}")
    sub = parser.add_subparsers(dest="command", required=True)

    extract = _subcommand(
        sub,
        "extract",
        "extract records from reports (files or directories)",
        "nianbao extract data/samples -o records.jsonl",
        "nianbao extract report.pdf --model models:/nianbao-field-mapper@production",
        "nianbao extract /archive --workers 4 --format csv -o records.csv",
    )
    extract.add_argument("paths", nargs="+")
    extract.add_argument(
        "-o", "--output", help="file of the records; its folder must exist (default: standard output)"
    )
    extract.add_argument(
        "--format",
        choices=EXTRACT_FORMATS,
        default="jsonl",
        help="jsonl: a record per line, as is; csv: a row per document (UTF-8 with BOM), its meta and fields",
    )
    extract.add_argument(
        "--workers",
        type=processes,
        default=1,
        help="processes; with more than 1, each file runs under the batch's time and memory limits and a "
        "crash fails that file alone; records stay in input order",
    )
    _model_options(extract)
    extract.set_defaults(run=extract_command)

    evaluate = _subcommand(
        sub,
        "evaluate",
        "accuracy against NAME.gold.json labels, beside the naive baseline",
        "nianbao evaluate data/evalset/v1 --min 99.5 --report /tmp/report/",
    )
    evaluate.add_argument("directory")
    evaluate.add_argument(
        "--min",
        type=float,
        help="exit 1 below this accuracy: a percent (99.5) or a fraction (0.995); a directory without "
        "labelled documents fails it too (default: no floor)",
    )
    evaluate.add_argument(
        "--report",
        metavar="OUT/",
        help="write index.html, report.json and the plots into this directory (default: no report)",
    )
    _model_options(evaluate, EVALUATE_STORE_HELP)
    evaluate.add_argument("--no-baseline", action="store_true", help="do not run the naive baseline beside")
    evaluate.add_argument("--show-wrong", type=int, default=50, help="how many wrong fields to list")
    evaluate.set_defaults(run=evaluate_command)

    synth = _subcommand(
        sub,
        "synth",
        "write synthesized reports with NAME.gold.json labels",
        "nianbao synth -n 20 --forms md,pdf --seed 7 -o /tmp/corpus",
    )
    synth.add_argument("-n", type=int, default=10, help="reports per form")
    synth.add_argument(
        "--forms",
        default="md,html,txt,docx,pdf,scan",
        help="comma-separated: md, html, txt, docx, pdf, scan, mdconv (PDF→Markdown converter output; not in "
        "the default), a text style (layout, tsv, worddump, ocr) or a look of a text PDF (pdf-unruled, "
        "pdf-image-rules, pdf-no-unicode, pdf-fake-bold, pdf-office) or of a scan (scan-office: tables as "
        "Word and WPS print them)",
    )
    synth.add_argument("--seed", type=int, default=0, help="corpus seed: the same seed writes the same files")
    synth.add_argument("-o", "--output", required=True, help="directory to write")
    synth.add_argument("--workers", type=processes, default=os.cpu_count() or 1, help="processes")
    synth.set_defaults(run=synth_command)

    train = _subcommand(
        sub,
        "train",
        "train every component from training/config.toml (seeded), tracked in MLflow",
        "nianbao train --data /tmp/corpus --register nianbao-field-mapper",
    )
    train.add_argument(
        "--config", type=Path, default=None, help="training config (default: training/config.toml)"
    )
    train.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="DIR|FILE.jsonl",
        help="labelled documents (NAME.gold.json beside each) or a corrections file; repeatable "
        "(default: none, the synthesized corpus alone)",
    )
    train.add_argument("--tracking-uri", help="MLflow store (default: the config's, sqlite:///mlflow.db)")
    train.add_argument(
        "--register",
        metavar="NAME",
        help="register the field mapper under this name (default: the config's, nianbao-field-mapper)",
    )
    where = train.add_mutually_exclusive_group()
    where.add_argument(
        "--out", type=Path, help="artifact directory (default: a new nianbao-runs/train-UTCTIME/ here)"
    )
    where.add_argument(
        "--install", action="store_true", help="write over the shipped artifacts the extractor loads"
    )
    train.add_argument(
        "--seed", type=int, help="override the config's [training] seed (default: the config's)"
    )
    train.add_argument("--no-sections", action="store_true", help="train the field mapper only")
    train.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    train.set_defaults(run=train_command)

    promote = _subcommand(
        sub,
        "promote",
        "move the production alias to a registered version that is not worse than the current",
        "nianbao promote nianbao-field-mapper 3 --tracking-uri sqlite:///mlflow.db",
    )
    promote.add_argument("name", help="registered model, e.g. nianbao-field-mapper")
    promote.add_argument("version")
    promote.add_argument("--force", action="store_true", help="promote even when the candidate is worse")
    promote.add_argument(
        "--tracking-uri", help="MLflow store; it must exist (default: the config's, sqlite:///mlflow.db)"
    )
    promote.set_defaults(run=promote_command)

    batch = _subcommand(
        sub,
        "batch",
        "extract an archive into the database, resumably, in parallel",
        "nianbao batch /archive --db sqlite:///nianbao.db --workers 4",
    )
    batch.add_argument("paths", nargs="+", help="files or directories (every file in them is accounted for)")
    batch.add_argument(
        "--db", default=DEFAULT_DB, help="database URL; a SQLite file is created in an existing folder"
    )
    batch.add_argument("--workers", type=processes, default=os.cpu_count() or 1, help="worker processes")
    batch.add_argument("--engine", choices=["local", "dask"], default="local", help="how workers are run")
    batch.add_argument("--scheduler", help="Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    batch.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per file")
    batch.add_argument("--retry-failed", action="store_true", help="try failed files again")
    batch.add_argument("--reextract", action="store_true", help="redo what an older pipeline or model made")
    _model_options(batch)
    batch.add_argument(
        "--memory-limit",
        type=float,
        metavar="GIB",
        help="address space per worker process; a file that needs more fails with E_TOO_LARGE "
        "(default: nianbao.workers.MEMORY_LIMIT_GIB, 4; 0: no limit)",
    )
    batch.set_defaults(run=batch_command)

    check = _subcommand(
        sub,
        "check",
        "check reports across years: each agency's 上年结转 against its previous year's 结转下年度; "
        "breaks are flagged for review (run at the end of every batch too)",
        "nianbao check --db sqlite:///nianbao.db",
    )
    check.add_argument("--db", default=DEFAULT_DB, help=EXISTING_DB_HELP)
    check.set_defaults(run=check_command)

    export = _subcommand(
        sub,
        "export",
        "write the dataset: a row per document, every canonical field; and beside it its codebook, "
        "FILE.codebook.csv: a row per column (labels, section, unit, templates, type)",
        "nianbao export --db sqlite:///nianbao.db --format parquet -o dataset.parquet",
        "nianbao export --db sqlite:///nianbao.db --format csv --headers zh -o 数据.csv",
    )
    _reads_db_writes_file(export)
    export.add_argument("--format", choices=["parquet", "csv", "jsonl"], required=True, help="file format")
    export.add_argument("--threshold", type=float, help=THRESHOLD_HELP)
    export.add_argument("--all", action="store_true", help="also values still waiting for review")
    export.add_argument(
        "--headers",
        choices=["key", "zh"],
        default="key",
        help="column names: field keys, or the codebook's Chinese labels (行 · 列, unique)",
    )
    export.set_defaults(run=export_command)

    serve = _subcommand(
        sub,
        "serve",
        "the review web page and REST service (OpenAPI docs at /docs)",
        "nianbao serve --db sqlite:///nianbao.db --archive-root /archive",
    )
    serve.add_argument(
        "--db", default=DEFAULT_DB, help="database URL; a SQLite file is created in an existing folder"
    )
    serve.add_argument("--token", help="token that writes need (default: $NIANBAO_TOKEN, else a new one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--archive-root",
        type=Path,
        metavar="DIR",
        help="the only directory batch jobs (POST /batches) may read; without it they are refused "
        "(default: none)",
    )
    serve.add_argument("--threshold", type=float, help=THRESHOLD_HELP)
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a further name requests may give in their Host header (besides --host and the loopback "
        "names), e.g. the name a proxy or other machines reach the server by; repeatable (default: none)",
    )
    serve.set_defaults(run=serve_command)

    review = _subcommand(
        sub,
        "review",
        "reviewers' decisions",
        "nianbao review export --db sqlite:///nianbao.db -o corrections.jsonl",
    )
    review_export = _subcommand(
        review.add_subparsers(dest="review_command", required=True),
        "export",
        "corrections as JSON Lines for nianbao train --data",
        "nianbao review export --db sqlite:///nianbao.db -o corrections.jsonl",
    )
    _reads_db_writes_file(review_export)
    review_export.set_defaults(run=review_export_command)

    inspect = _subcommand(
        sub,
        "inspect",
        "write an HTML page per document: its pages (or blocks) with the tables, cells and text lines found, "
        "each cell coloured by the field it was filed under, the rows nothing was filed from marked",
        "nianbao inspect report.pdf -o /tmp/inspect/",
    )
    inspect.add_argument("paths", nargs="+", help="files or directories")
    inspect.add_argument(
        "-o", "--output", required=True, metavar="OUT/", help="folder of the pages; made if its parent exists"
    )
    _model_options(inspect)
    inspect.set_defaults(run=inspect_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user's mistake (``UserError``) ends it with its one coded line on standard error
    and its exit status; anything else is a bug and keeps its traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as exc:
        print(exc.line(), file=sys.stderr)
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
