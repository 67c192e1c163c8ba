"""``nianbao extract`` and ``nianbao inspect``: reports in, their records (or a page per report) out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from nianbao.commands.common import chosen_model, iter_documents, output_file
from nianbao.errors import ErrorCode, UserError

EXTRACT_FORMATS = ("jsonl", "csv")
META_COLUMNS = ("agency", "year", "format")  # a record's meta, in nianbao export's column names
BOM = "\ufeff"  # before a CSV: spreadsheet programs then read it as UTF-8 (export's CSV has it too)


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


def extract_command(args: argparse.Namespace) -> int:
    """Records to stdout or -o; progress, each failure and an end summary to stderr, so a pipe gets
    records alone."""
    import time

    from nianbao.models import review_policy
    from nianbao.runs import BatchSettings, ExtractSummary, Progress, extract_in_order

    started = time.perf_counter()
    output = output_file(args.output) if args.output else None
    model = chosen_model(args)
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


def inspect_command(args: argparse.Namespace) -> int:
    """One page per document, each path printed as it is written; a file that fails gets a page with its
    error code, and exit status 1 as with extract."""
    from nianbao.extraction.pipeline import Extractor
    from nianbao.inspect import inspect_paths

    out = Path(args.output)
    if not out.parent.is_dir() or (out.exists() and not out.is_dir()):
        raise UserError(ErrorCode.E_OUT_DIR, path=args.output, folder=out if out.exists() else out.parent)
    extractor = Extractor.load(chosen_model(args))
    out.mkdir(exist_ok=True)
    failed = 0
    for page, record in inspect_paths(iter_documents(args.paths), out, extractor):
        print(page)
        failed += bool(record["error"])
    return 1 if failed else 0
