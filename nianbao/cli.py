"""The ``nianbao`` command line."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from nianbao.extraction.readers import SUFFIXES
from nianbao.store import DEFAULT_URL as DEFAULT_DB

Command = Callable[[argparse.Namespace], int]
DB_FAILED = 2  # exit status of a command whose database could not be opened, read or written


def opens_store(run: Command) -> Command:
    """A command over the store: a database it cannot open, read or write (read-only, unreachable, a bad
    URL, made by a newer nianbao) ends it with one line, E_DB and the cause, instead of a traceback."""

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
            print(f"E_DB: {where}: {database_cause(exc)}", file=sys.stderr)
            return DB_FAILED

    return guarded


def iter_documents(paths: list[str]) -> Iterator[Path]:
    """Files as given; directories walked for report files (gold labels and hidden files skipped)."""
    from nianbao.batch import archive_files

    return archive_files(paths, SUFFIXES)


def _extract(args: argparse.Namespace) -> int:
    from nianbao.extraction.pipeline import Extractor

    model = args.model
    if model and (model.startswith("models:/") or "://" in model):  # MLflow only when a URI asks for it
        from nianbao.training.registry import resolve_model

        model = resolve_model(model, args.tracking_uri)
    extractor = Extractor.load(model)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    failed = 0
    try:
        for path in iter_documents(args.paths):
            record = extractor.extract(path)
            failed += record["error"] is not None
            out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
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
    print(summary.line())
    return 1 if summary.counts["failed"] else 0


@opens_store
def _check(args: argparse.Namespace) -> int:
    from nianbao.store import Store
    from nianbao.store.crossyear import check_cross_year

    with Store.open(args.db) as store:
        summary = check_cross_year(store)
    print(summary.line())
    for group in summary.ambiguous:
        documents = ", ".join(str(d) for d in group.documents)
        print(f"ambiguous: {group.agency} {group.year} is held by documents {documents}; pairs skipped")
    return 0


THRESHOLD_HELP = "calibrated confidence accepted without review (default: the shipped review policy's)"


def _threshold(args: argparse.Namespace) -> float:
    from nianbao.models import review_policy

    return review_policy().threshold if args.threshold is None else args.threshold


@opens_store
def _export(args: argparse.Namespace) -> int:
    from nianbao.export import export
    from nianbao.store import Store

    with Store.open(args.db) as store:
        n = export(store, Path(args.output), args.format, _threshold(args), include_all=args.all)
    print(f"{n} documents → {args.output}")
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

    with Store.open(args.db) as store:
        n = export_corrections(store, Path(args.output))
    print(f"{n} review decisions → {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nianbao", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    extract = sub.add_parser("extract", help="extract records from reports (files or directories)")
    extract.add_argument("paths", nargs="+")
    extract.add_argument("-o", "--output", help="JSON Lines file (default: standard output)")
    extract.add_argument(
        "--model",
        help="field mapper: an artifact path or a registry URI such as "
        "models:/nianbao-field-mapper@production (default: the shipped artifact)",
    )
    extract.add_argument(
        "--tracking-uri", help="MLflow store for a models:/ URI (default: sqlite:///mlflow.db)"
    )
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
        help="comma-separated: md, html, txt, docx, pdf, scan, mdconv (PDF→Markdown converter output; not in "
        "the default), a text style (layout, tsv, worddump, ocr) or a look of a text PDF (pdf-unruled, "
        "pdf-image-rules, pdf-no-unicode, pdf-fake-bold, pdf-office) or of a scan (scan-office: tables as "
        "Word and WPS print them)",
    )
    synth.add_argument("--seed", type=int, default=0, help="corpus seed: the same seed writes the same files")
    synth.add_argument("-o", "--output", required=True, help="directory to write")
    synth.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    synth.set_defaults(run=_synth)

    train = sub.add_parser(
        "train", help="train every component from training/config.toml (seeded), tracked in MLflow"
    )
    train.add_argument("--config", type=Path, default=None, help="default: training/config.toml")
    train.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="DIR|FILE.jsonl",
        help="labelled documents (NAME.gold.json beside each) or a corrections file; repeatable",
    )
    train.add_argument("--tracking-uri", help="MLflow store (default: the config's, sqlite:///mlflow.db)")
    train.add_argument("--register", metavar="NAME", help="register the field mapper under this name")
    train.add_argument("--out", type=Path, help="artifact directory (default: the shipped artifacts)")
    train.add_argument("--seed", type=int, help="override the config's [training] seed")
    train.add_argument("--no-sections", action="store_true", help="train the field mapper only")
    train.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    train.set_defaults(run=_train)

    promote = sub.add_parser(
        "promote", help="move the production alias to a registered version that is not worse than the current"
    )
    promote.add_argument("name", help="registered model, e.g. nianbao-field-mapper")
    promote.add_argument("version")
    promote.add_argument("--force", action="store_true", help="promote even when the candidate is worse")
    promote.add_argument("--tracking-uri", help="MLflow store (default: sqlite:///mlflow.db)")
    promote.set_defaults(run=_promote)

    batch = sub.add_parser("batch", help="extract an archive into the database, resumably, in parallel")
    batch.add_argument("paths", nargs="+", help="files or directories (every file in them is accounted for)")
    batch.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    batch.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    batch.add_argument("--engine", choices=["local", "dask"], default="local")
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

    check = sub.add_parser(
        "check",
        help="check reports across years: each agency's 上年结转 against its previous year's 结转下年度; "
        "breaks are flagged for review (run at the end of every batch too)",
    )
    check.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    check.set_defaults(run=_check)

    export = sub.add_parser("export", help="write the dataset: a row per document, every canonical field")
    export.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    export.add_argument("--format", choices=["parquet", "csv", "jsonl"], required=True)
    export.add_argument("-o", "--output", required=True)
    export.add_argument("--threshold", type=float, help=THRESHOLD_HELP)
    export.add_argument("--all", action="store_true", help="also values still waiting for review")
    export.set_defaults(run=_export)

    serve = sub.add_parser("serve", help="the review web page and REST service (OpenAPI docs at /docs)")
    serve.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    serve.add_argument("--token", help="token that writes need (default: $NIANBAO_TOKEN, else a new one)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--archive-root",
        type=Path,
        metavar="DIR",
        help="the only directory batch jobs (POST /batches) may read; without it they are refused",
    )
    serve.add_argument("--threshold", type=float, help=THRESHOLD_HELP)
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a further name requests may give in their Host header (besides --host and the loopback "
        "names), e.g. the name a proxy or other machines reach the server by; repeatable",
    )
    serve.set_defaults(run=_serve)

    review = sub.add_parser("review", help="reviewers' decisions")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    review_export = review_sub.add_parser("export", help="corrections as JSON Lines for nianbao train --data")
    review_export.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default: {DEFAULT_DB})")
    review_export.add_argument("-o", "--output", required=True)
    review_export.set_defaults(run=_review_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
