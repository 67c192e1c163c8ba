"""Every error code nianbao emits, each with its one line of cause: the one registry (spaCy's ``errors.py``
is the model).

Why one registry: the codes are an interface (scripts look for them on stderr, in a record's ``error``, in
the store's ``error_code`` column and in the service's responses; the README lists them), so each is
named and explained once, here. Code that meets a problem raises ``CodedError(code, detail)``: its message
is ``CODE: detail``, the form a record's ``error`` takes. A mistake of the user's on the command line
raises ``UserError(code, **details)``, whose detail is the code's cause (a ``str.format`` template over the
details) and fix; the CLI's ``main`` prints it as one line, ``CODE: cause — fix``, and exits with the code's
status, with no traceback. A genuine bug is no ``CodedError`` and still raises.
"""

from __future__ import annotations

from enum import StrEnum, auto
from typing import Any

FAILED = 1  # the command ran and what it checked did not pass (a file failed, a gate not met)
REFUSED = 2  # the command could not run: a bad argument, database, path or model (argparse's status too)


class ErrorCode(StrEnum):
    """A stable code (its value is its name, so it prints and stores as ``E_...``), with ``cause``; a user's
    mistake on the command line also has ``status`` (the exit status the CLI ends with) and ``fix``."""

    cause: str
    fix: str | None
    status: int | None

    def __new__(cls, name: str, cause: str, fix: str | None = None, status: int | None = None) -> ErrorCode:
        member = str.__new__(cls, name)
        member._value_ = name
        member.cause, member.fix, member.status = cause, fix, status
        return member

    @staticmethod
    def _generate_next_value_(name: str, _start: int, _count: int, _last: list[Any]) -> str:
        return name  # auto(): the value is the member's name

    def message(self, detail: str) -> str:
        """``CODE: detail``: a record's ``error``, a job's error, a refusal's HTTP detail."""
        return f"{self}: {detail}"

    @classmethod
    def of(cls, message: str | None) -> ErrorCode | None:
        """The code at the front of a ``CODE: detail`` message, for the one place a code is only written
        down in its message: a record's ``error`` (the record's JSON carries the message alone)."""
        return cls(message.split(":", 1)[0].strip()) if message else None

    # ------------------------------------------------ a file that cannot be read (a record's error)
    E_EMPTY = (auto(), "the file, or every page of the PDF, holds nothing to read")
    E_CORRUPT = (auto(), "the file is damaged, or not of the form its suffix names")
    E_BINARY = (auto(), "a text file's bytes are binary, not text")
    E_ENCODING = (auto(), "no text encoding fits the file's bytes")
    E_ENCRYPTED = (auto(), "the PDF is encrypted and cannot be opened")
    E_UNSUPPORTED = (auto(), "a form nianbao does not read (legacy .doc, a spreadsheet, a zip archive)")
    E_PARSE = (auto(), "the HTML cannot be parsed")
    E_NO_TEXT = (auto(), "the PDF has no text layer for the baseline reader (scanned or image-only)")
    E_NOT_REPORT = (auto(), "no 政府信息公开 statistics table and no report title were found")
    E_NOT_FILE = (auto(), "the path is no regular file (a FIFO, a device, a directory, a link to one)")
    E_IO = (auto(), "the file cannot be read (vanished, or no permission)")
    E_TOO_LARGE = (auto(), "over a size, page, pixel, unpacked-size or nesting limit, or the memory limit")
    E_INTERNAL = (auto(), "nianbao failed on the file or job: a bug, the details in the message or log")
    # ------------------------------------------------ what the batch runner records for a file
    E_TIMEOUT = (auto(), "the extraction took longer than the per-file time limit")
    E_CRASH = (auto(), "the worker died or failed outside the extractor's guard")
    # ------------------------------------------------ the REST service
    E_NO_ARCHIVE_ROOT = (auto(), "batches are disabled: the server has no archive root")
    E_OUTSIDE_ARCHIVE = (auto(), "a path, or a link met on a walk, leads outside the archive root")
    E_PATH_MISSING = (auto(), "a submitted path does not exist in the archive")
    E_TOO_MANY_WORKERS = (auto(), "a batch asks for more workers than the server allows")
    E_INTERRUPTED = (auto(), "the server stopped before the batch job ended")
    E_NO_BATCH = (auto(), "no batch job has that id")
    E_STALE = (auto(), "a review of an extraction its document no longer uses (extracted again since)")
    E_VALUE = (auto(), "a value the field cannot hold, or a malformed body")
    E_UNDO = (auto(), "an undo of a decision that is not the reviewer's alone, or no longer the newest")
    E_NO_GROUP = (auto(), "no field of the document waits under that identity")
    # ------------------------------------------------ training: its config and its data
    E_CONFIG_KEY = (auto(), "an unknown section or key in the training config")
    E_CONFIG_MISSING = (auto(), "the training config, or a section or key of it, is missing")
    E_CONFIG_SYNTAX = (auto(), "the training config is no valid TOML")
    E_CONFIG_TYPE = (auto(), "a value of the training config has the wrong type")
    E_CORRECTION_JSON = (auto(), "a line of a corrections file is no JSON object")
    E_CORRECTION_KEYS = (auto(), "a correction lacks a key or has an unknown one")
    E_CORRECTION_FIELD = (auto(), "a correction names a field the schema does not have")
    E_CORRECTION_VALUE = (auto(), "a correction's value is one its field cannot hold")
    E_CORRECTION_DOCUMENT = (auto(), "a correction's document is not a non-empty string")
    E_CORRECTION_REVIEWER = (auto(), "a correction's reviewer is not a non-empty string")
    E_CORRECTION_TIME = (auto(), "a correction's time is not ISO 8601")
    E_DATA_SOURCE = (auto(), "a training data source is neither a directory of gold files nor a .jsonl")
    E_MODEL_ARTIFACT = (auto(), "a model artifact holds no nianbao component")
    E_MODEL_COMPONENT = (auto(), "a registered model is another component than the one asked for")
    # ------------------------------------------------ a user's mistake on the command line: cause is a
    # str.format template over the UserError's details
    E_DB = (auto(), "{where}: {said}", None, REFUSED)  # the driver's own words are the cause and the fix
    E_DB_URL = (
        auto(),
        "{url!r} is not a database URL",
        "use sqlite:///PATH or postgresql://USER@HOST/DB",
        REFUSED,
    )
    E_DB_DRIVER = (
        auto(),
        "the database driver of {url} is not installed ({said})",
        "use postgresql+psycopg://USER@HOST/DB (installed with nianbao) or install that driver",
        REFUSED,
    )
    E_DB_DIR = (
        auto(),
        "the folder {folder} of {url} does not exist",
        "create it, or give --db a path in an existing folder",
        REFUSED,
    )
    E_DB_MISSING = (
        auto(),
        "{url} does not exist",
        "give --db the database that nianbao batch wrote (batch creates it)",
        REFUSED,
    )
    E_DB_CONNECT = (
        auto(),
        "cannot connect to {url}: {said}",
        "check that the server runs and the host, port, user, password and database in --db",
        REFUSED,
    )
    E_NO_REGISTRY = (
        auto(),
        "no MLflow tracking store at {uri}",
        "give --tracking-uri the store nianbao train used (train --register NAME makes one)",
        REFUSED,
    )
    E_MODEL_UNREADABLE = (
        auto(),
        "{path} cannot be loaded as a model ({said})",
        "give a .joblib artifact that nianbao train wrote, or leave --model out for the shipped one",
        REFUSED,
    )
    E_NO_MODEL = (
        auto(),
        "{ref} is not in the model registry at {uri} ({said})",
        "give a registered NAME and VERSION or @alias (mlflow ui lists them)",
        REFUSED,
    )
    E_OUT_DIR = (
        auto(),
        "cannot write {path}: the folder {folder} does not exist",
        "create it first, or give -o a path in an existing folder",
        REFUSED,
    )
    E_NO_GOLD = (
        auto(),
        "no labelled documents (NAME.gold.json beside each) in {directory}, so there is nothing to score",
        "give a folder that nianbao synth wrote or one with gold labels",
        FAILED,  # a gate that passes on nothing must not pass
    )


class CodedError(Exception):
    """A problem with a stable ``code``; ``detail`` says what exactly. Its message is ``CODE: detail``."""

    def __init__(self, code: ErrorCode | str, detail: str) -> None:
        super().__init__(code, detail)  # both kept in args, so the error pickles across processes
        self.code = ErrorCode(code)  # an unregistered code is a bug: it raises ValueError here, at the raiser
        self.detail = detail

    def __str__(self) -> str:
        return self.code.message(self.detail)

    def __reduce__(self) -> tuple:
        """Rebuilt from code and detail as they are, whatever the subclass's ``__init__`` takes: an error
        raised in a worker process reaches its parent whole."""
        return _restored, (type(self), self.code, self.detail)


def _restored(kind: type[CodedError], code: ErrorCode, detail: str) -> CodedError:
    error = Exception.__new__(kind)
    CodedError.__init__(error, code, detail)
    return error


class UserError(CodedError):
    """A mistake of the user's (argument, path, URL, missing store), reported as one coded line with its
    fix: ``code``'s cause filled in with ``details``."""

    def __init__(self, code: ErrorCode | str, **details: object) -> None:
        code = ErrorCode(code)
        if code.status is None:
            raise ValueError(f"{code} is no mistake of the user's: it has no exit status")
        fix = f" — {code.fix}" if code.fix else ""
        super().__init__(code, code.cause.format(**details) + fix)

    @property
    def status(self) -> int:
        return self.code.status

    def line(self) -> str:
        """``CODE: cause — fix``, the one line the CLI prints."""
        return str(self)
