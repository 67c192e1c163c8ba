"""One registry of error codes: every code the product writes is an ``ErrorCode`` with its cause, and a
``CodedError`` says ``CODE: detail`` wherever it ends up (a record, a job, a response, a worker's pickle)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from nianbao.errors import REFUSED, CodedError, ErrorCode, UserError

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"\bE_[A-Z][A-Z_]*[A-Z]\b")
SOURCES = ("nianbao", "extraction", "training", "evaluation", "models")


def _written_codes() -> set[str]:
    files = [ROOT / "README.md"]
    for folder in SOURCES:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".html", ".js"}]
    kept = [path for path in files if "migrations" not in path.parts]
    return {code for path in kept for code in CODE.findall(path.read_text("utf-8"))}


def test_every_code_the_source_or_the_readme_writes_is_registered_with_a_cause() -> None:
    assert sorted(_written_codes() - set(ErrorCode)) == []
    assert [code for code in ErrorCode if not code.cause.strip()] == []


def test_a_coded_error_is_code_and_detail_and_survives_a_worker_process() -> None:
    error = CodedError(ErrorCode.E_CORRUPT, "not a readable PDF (PdfminerException)")
    assert str(error) == "E_CORRUPT: not a readable PDF (PdfminerException)"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.detail, str(copy)) == (error.code, error.detail, str(error))
    assert ErrorCode.of(str(error)) is ErrorCode.E_CORRUPT and ErrorCode.of(None) is None
    with pytest.raises(ValueError):
        CodedError("E_NO_SUCH_CODE", "a typo is caught where it is raised")


def test_a_user_error_is_the_cause_filled_in_with_its_fix_and_exit_status() -> None:
    error = UserError(ErrorCode.E_DB_URL, url="sqlit:///x.db")
    assert error.line() == (
        "E_DB_URL: 'sqlit:///x.db' is not a database URL — use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
    assert error.status == REFUSED and error.code == "E_DB_URL"
    copy = pickle.loads(pickle.dumps(error))  # raised in a worker (a model it cannot load), said by the CLI
    assert type(copy) is UserError and (copy.line(), copy.status) == (error.line(), REFUSED)
    with pytest.raises(ValueError):
        UserError(ErrorCode.E_CORRUPT)  # a file's problem, not a mistake the command line ends with
