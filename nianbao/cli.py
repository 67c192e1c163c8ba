"""The ``nianbao`` command line."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from nianbao.errors import REFUSED, UserError
from nianbao.extraction.readers import SUFFIXES
from nianbao.store import DEFAULT_URL as DEFAULT_DB

Command = Callable[[argparse.Namespace], int]
DB_FAILED = REFUSED  # exit status of a command whose database could not be opened, read or written


def opens_store(run: Command) -> Command:
    """A command over the store: a database it cannot read or write once open (read-only, made by a newer
    nianbao) ends it with one line, E_DB and the driver's cause, instead of a traceback. A bad URL, folder
    or server is found earlier, by ``Store.open``, with a code of its own."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        from alembic.util.exc import CommandError
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from nianbao.store import database_cause

        try:
            return run(args)
        except (SQLAlchemyError, CommandError) as exc:
            try:
                where = make_url(args.db).render_as_string(hide_password=True)
            except ArgumentError:
                where = "the database URL"
            raise UserError("E_DB", where=where, said=database_cause(exc)) from exc

    return guarded


def output_file(given: str) -> Path:
    """``given`` as a file to write, once its folder is known to exist (E_OUT_DIR): said before the work,
    not after it, and no folder is made on a mistyped path."""
    path = Path(given)
    if not path.parent.is_dir():
        raise UserError("E_OUT_DIR", path=given, folder=path.parent)
    return path


def iter_documents(paths: list[str]) -> Iterator[Path]:
    """Files as given; directories walked for report files (gold labels and hidden files skipped)."""
    from nianbao.batch import archive_files

    return archive_files(paths, SUFFIXES)


EXTRACT_FORMATS = ("jsonl", "csv")
META_COLUMNS = ("agency", "year", "format")  # a record's meta, in nianbao export's column names
BOM = "\ufeff"  # before a CSV: spreadsheet programs then read it as UTF-8 (export's CSV has it too)


def processes(text: str) -> int:
    """A --workers value: a whole number of processes, one or more (argparse reports anything else)."""
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text} is no number of processes: give 1 or more")
    return count


def record_writer(out: TextIO, fmt: str) -> Callable[[dict], object]:
    """Writes each record as a JSON line, or as a CSV row of its document, meta, error and every canonical
    field of both templates (as nianbao export has them), so every row has the same columns."""
    if fmt == "jsonl":
        return lambda record: out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    import csv

    from nianbao.schema import load_schema

    keys = load_schema().all_field_keys()
    rows = csv.DictWriter(out, ["document", *META_COLUMNS, "error", *keys], lineterminator="\n")
    out.write(BOM)
    rows.writeheader()
    return lambda record: rows.writerow(
        {
            "document": record["document"],
            **{key: record["meta"].get(key) for key in META_COLUMNS},
            "error": record["error"],
            **{key: record["fields"].get(key) for key in keys},
        }
    )


def _extract(args: argparse.Namespace) -> int:
    """Records to stdout or -o; progress, each failure and an end summary to stderr, so a pipe gets
    records alone."""
    import time

    from nianbao.batch import BatchSettings, ExtractSummary, Progress, extract_in_order
    from nianbao.models import review_policy

    started = time.perf_counter()
    output = output_file(args.output) if args.output else None
    model = args.model
    if model and (model.startswith("models:/") or "://" in model):  # MLflow only when a URI asks for it
        from nianbao.training.registry import resolve_model

        model = resolve_model(model, args.tracking_uri)
    names = [str(path) for path in iter_documents(args.paths)]
    records = extract_in_order(names, BatchSettings(workers=args.workers, model=model))
    summary = ExtractSummary(review_policy())
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    write = record_writer(out, args.format)
    progress = Progress(len(names), sys.stderr)
    try:
        for path, record in records:
            state = summary.add(record)
            write(record)
            if record["error"]:
                progress.note(f"{path}: {record['error']}")
            progress.step(state == "failed")
    finally:
        records.close()  # its workers, when a write failed or the run was interrupted
        progress.close()
        if out is not sys.stdout:
            out.close()
    summary.seconds = time.perf_counter() - started
    print(summary.line(), file=sys.stderr)
    return 1 if summary.counts["failed"] else 0


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

    from nianbao.evaluation.variants import FORMS, PDF_STYLES, SCAN_STYLES, TEXT_STYLES, write_corpus

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


def _train(args: argparse.Namespace) -> int:
    from nianbao.training.config import ConfigError
    from nianbao.training.labelled import CorrectionError
    from nianbao.training.train import run

    try:
        return run(args)
    except (ConfigError, CorrectionError) as exc:
        print(exc, file=sys.stderr)
        return 2


def _promote(args: argparse.Namespace) -> int:
    from nianbao.training.promote import promote

    return promote(args.name, args.version, force=args.force, tracking=args.tracking_uri)


@opens_store
def _batch(args: argparse.Namespace) -> int:
    from nianbao.batch import BatchSettings, archive_files, run_batch
    from nianbao.store import Store

    settings = BatchSettings(
        workers=args.workers,
        engine=args.engine,
        scheduler=args.scheduler,
        timeout_s=args.timeout,
        retry_failed=args.retry_failed,
        reextract=args.reextract,
        model=args.model,
        **({} if args.memory_limit is None else {"memory_limit_gib": args.memory_limit}),
    )
    with Store.open(args.db) as store:
        summary = run_batch(archive_files(args.paths), store, settings)
        print("\n".join([summary.line(), *summary.failed_files(store)]))
    return 1 if summary.counts["failed"] else 0


@opens_store
def _check(args: argparse.Namespace) -> int:
    from nianbao.store import Store
    from nianbao.store.crossyear import check_cross_year

    with Store.open(args.db, create=False) as store:
        summary = check_cross_year(store)
    print(summary.line())
    for group in summary.ambiguous:
        documents = ", ".join(str(d) for d in group.documents)
        print(f"ambiguous: {group.agency} {group.year} is held by documents {documents}; pairs skipped")
    return 0


THRESHOLD_HELP = "calibrated confidence accepted without review (default: the shipped review policy's)"
EXISTING_DB_HELP = "database URL of an existing database, as nianbao batch made it"


def _threshold(args: argparse.Namespace) -> float:
    from nianbao.models import review_policy

    return review_policy().threshold if args.threshold is None else args.threshold


@opens_store
def _export(args: argparse.Namespace) -> int:
    from nianbao.codebook import codebook_path
    from nianbao.export import export
    from nianbao.store import Store

    output = output_file(args.output)
    with Store.open(args.db, create=False) as store:
        n = export(store, output, args.format, _threshold(args), include_all=args.all, headers=args.headers)
    print(f"{n} documents → {args.output}, codebook → {codebook_path(output)}")
    return 0


@opens_store
def _serve(args: argparse.Namespace) -> int:
    from nianbao.app import AppSettings, serve

    settings = AppSettings(
        threshold=_threshold(args),
        archive_root=args.archive_root,
        allowed_hosts=(*AppSettings.allowed_hosts, *args.allowed_host),
    )
    serve(args.db, args.token, args.host, args.port, settings)
    return 0


@opens_store
def _review_export(args: argparse.Namespace) -> int:
    from nianbao.app import export_corrections
    from nianbao.store import Store

    output = output_file(args.output)
    with Store.open(args.db, create=False) as store:
        n = export_corrections(store, output)
    print(f"{n} review decisions → {args.output}")
    return 0


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


def _command(
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

    extract = _command(
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
    extract.add_argument(
        "--model",
        help="field mapper: an artifact path or a registry URI such as "
        "models:/nianbao-field-mapper@production (default: the shipped artifact)",
    )
    extract.add_argument(
        "--tracking-uri",
        help="MLflow store for a models:/ URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )
    extract.set_defaults(run=_extract)

    evaluate = _command(
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
    evaluate.add_argument(
        "--tracking-uri",
        help="log the run to MLflow here, e.g. sqlite:///mlflow.db "
        "(a file: directory needs MLFLOW_ALLOW_FILE_STORE=true) (default: not logged)",
    )
    evaluate.add_argument("--no-baseline", action="store_true", help="do not run the naive baseline beside")
    evaluate.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    evaluate.add_argument("--show-wrong", type=int, default=50, help="how many wrong fields to list")
    evaluate.set_defaults(run=_evaluate)

    synth = _command(
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
    synth.set_defaults(run=_synth)

    train = _command(
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
    train.set_defaults(run=_train)

    promote = _command(
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
    promote.set_defaults(run=_promote)

    batch = _command(
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
    batch.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    batch.add_argument(
        "--memory-limit",
        type=float,
        metavar="GIB",
        help="address space per worker process; a file that needs more fails with E_TOO_LARGE "
        "(default: nianbao.batch.MEMORY_LIMIT_GIB, 4; 0: no limit)",
    )
    batch.set_defaults(run=_batch)

    check = _command(
        sub,
        "check",
        "check reports across years: each agency's 上年结转 against its previous year's 结转下年度; "
        "breaks are flagged for review (run at the end of every batch too)",
        "nianbao check --db sqlite:///nianbao.db",
    )
    check.add_argument("--db", default=DEFAULT_DB, help=EXISTING_DB_HELP)
    check.set_defaults(run=_check)

    export = _command(
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
    export.set_defaults(run=_export)

    serve = _command(
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
    serve.set_defaults(run=_serve)

    review = _command(
        sub,
        "review",
        "reviewers' decisions",
        "nianbao review export --db sqlite:///nianbao.db -o corrections.jsonl",
    )
    review_sub = review.add_subparsers(dest="review_command", required=True)
    review_export = _command(
        review_sub,
        "export",
        "corrections as JSON Lines for nianbao train --data",
        "nianbao review export --db sqlite:///nianbao.db -o corrections.jsonl",
    )
    _reads_db_writes_file(review_export)
    review_export.set_defaults(run=_review_export)

    inspect = _command(
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
    inspect.add_argument("--model", help="field mapper artifact (default: the shipped one)")
    inspect.set_defaults(run=_inspect)
    return parser


def _inspect(args: argparse.Namespace) -> int:
    """One page per document, each path printed as it is written; a file that fails gets a page with its
    error code, and exit status 1 as with extract."""
    from nianbao.extraction.pipeline import Extractor
    from nianbao.inspect import inspect_paths

    out = Path(args.output)
    if not out.parent.is_dir() or (out.exists() and not out.is_dir()):
        raise UserError("E_OUT_DIR", path=args.output, folder=out if out.exists() else out.parent)
    out.mkdir(exist_ok=True)
    failed = 0
    for page, record in inspect_paths(iter_documents(args.paths), out, Extractor.load(args.model)):
        print(page)
        failed += bool(record["error"])
    return 1 if failed else 0


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
