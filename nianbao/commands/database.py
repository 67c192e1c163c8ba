"""The commands over the database: ``nianbao batch`` fills it, ``check`` compares years in it, ``export``
and ``review export`` write from it, ``serve`` puts the review page and REST service on it."""

from __future__ import annotations

import argparse

from nianbao.commands.common import chosen_model, opens_store, output_file


@opens_store
def batch_command(args: argparse.Namespace) -> int:
    if args.engine == "local":
        from nianbao.fork_server import fork_server

        fork_server()  # the workers' imports under way while this process imports and opens the database
    from nianbao.batch import run_batch
    from nianbao.runs import BatchSettings, archive_files
    from nianbao.store import Store

    alike = ("workers", "engine", "scheduler", "retry_failed", "reextract")  # option = setting name
    settings = BatchSettings(
        **{name: getattr(args, name) for name in alike},
        timeout_s=args.timeout,
        model=chosen_model(args),
        **({} if args.memory_limit is None else {"memory_limit_gib": args.memory_limit}),
    )
    with Store.open(args.db) as store:
        summary = run_batch(archive_files(args.paths), store, settings)
        print("\n".join([summary.line(), *summary.failed_files(store)]))
    return 1 if summary.counts["failed"] else 0


@opens_store
def check_command(args: argparse.Namespace) -> int:
    from nianbao.store import Store
    from nianbao.store.crossyear import check_cross_year

    with Store.open(args.db, create=False) as store:
        summary = check_cross_year(store)
    print(summary.line())
    for group in summary.ambiguous:
        documents = ", ".join(str(d) for d in group.documents)
        print(f"ambiguous: {group.agency} {group.year} is held by documents {documents}; pairs skipped")
    return 0


def _threshold(args: argparse.Namespace) -> float:
    from nianbao.models import review_policy

    return review_policy().threshold if args.threshold is None else args.threshold


@opens_store
def export_command(args: argparse.Namespace) -> int:
    from nianbao.codebook import codebook_path
    from nianbao.export import export
    from nianbao.store import Store

    output = output_file(args.output)
    with Store.open(args.db, create=False) as store:
        n = export(store, output, args.format, _threshold(args), include_all=args.all, headers=args.headers)
    print(f"{n} documents → {args.output}, codebook → {codebook_path(output)}")
    return 0


@opens_store
def serve_command(args: argparse.Namespace) -> int:
    from nianbao.app import AppSettings, serve

    settings = AppSettings(
        threshold=_threshold(args),
        archive_root=args.archive_root,
        allowed_hosts=(*AppSettings.allowed_hosts, *args.allowed_host),
    )
    serve(args.db, args.token, args.host, args.port, settings)
    return 0


@opens_store
def review_export_command(args: argparse.Namespace) -> int:
    from nianbao.app import export_corrections
    from nianbao.store import Store

    output = output_file(args.output)
    with Store.open(args.db, create=False) as store:
        n = export_corrections(store, output)
    print(f"{n} review decisions → {args.output}")
    return 0
