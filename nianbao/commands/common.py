"""What the command bodies share: a database error worded as one line, an output file or the reports
named on the command line taken, and the field mapper --model names."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from nianbao.errors import ErrorCode, UserError
from nianbao.extraction.suffixes import SUFFIXES

Command = Callable[[argparse.Namespace], int]


def opens_store(run: Command) -> Command:
    """A command over the store: a database it cannot read or write once open (read-only, made by a newer
    nianbao) ends it with one line, E_DB and the driver's cause, instead of a traceback. A bad URL, folder
    or server is found earlier, by ``Store.open``, with a code of its own."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except Exception as exc:
            error = _database_error(exc, args.db)
            if error is None:
                raise
            raise error from exc

    return guarded


def _database_error(exc: Exception, url: str) -> UserError | None:
    """``exc`` as E_DB when the database or its migrations raised it; None for any other error. SQLAlchemy
    and Alembic are imported here, not before the command runs (a batch starts its workers' imports first);
    an error of theirs means the command imported them already."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    database_errors: tuple[type[Exception], ...] = (SQLAlchemyError,)
    if "alembic" in sys.modules:  # imported with the store, which migrates: its errors are the migrations'
        from alembic.util.exc import CommandError

        database_errors += (CommandError,)
    if not isinstance(exc, database_errors):
        return None
    from nianbao.store import database_cause

    try:
        where = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        where = "the database URL"
    return UserError(ErrorCode.E_DB, where=where, said=database_cause(exc))


def output_file(given: str) -> Path:
    """``given`` as a file to write, once its folder is known to exist (E_OUT_DIR): said before the work,
    not after it, and no folder is made on a mistyped path."""
    path = Path(given)
    if not path.parent.is_dir():
        raise UserError(ErrorCode.E_OUT_DIR, path=given, folder=path.parent)
    return path


def iter_documents(paths: list[str]) -> Iterator[Path]:
    """Files as given; directories walked for report files (gold labels and hidden files skipped)."""
    from nianbao.runs import archive_files

    return archive_files(paths, SUFFIXES)


def chosen_model(args: argparse.Namespace) -> str | None:
    """The field mapper artifact --model names: a path as given, a models:/ URI fetched from the
    --tracking-uri store (training/model_ref.py, the one place that tells them apart). A path that is no
    file is refused here, before any database or output is made; one that is no model, where it is loaded."""
    from nianbao.training.model_ref import field_mapper_path

    path = field_mapper_path(args.model, args.tracking_uri)
    if path is not None and not Path(path).is_file():
        raise UserError(ErrorCode.E_MODEL_UNREADABLE, path=path, said="no such file")
    return path
