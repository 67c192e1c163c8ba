"""A user's mistake ends a command with one coded line on stderr (``CODE: cause — fix``), its exit status
and no traceback, and leaves nothing behind; ``--help`` shows defaults and examples, ``--version`` the
installed version."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import pytest

import nianbao.store.database
from nianbao import cli
from nianbao.cli import main
from nianbao.errors import FAILED, REFUSED, ErrorCode
from nianbao.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "syn_md_1827522633.md"
LEAF_COMMANDS = [
    ["extract"],
    ["evaluate"],
    ["synth"],
    ["train"],
    ["promote"],
    ["batch"],
    ["check"],
    ["export"],
    ["serve"],
    ["review", "export"],
    ["inspect"],
]


def refused(capsys: pytest.CaptureFixture, argv: list[str], code: str, status: int = REFUSED) -> str:
    """Run ``argv``; assert its exit status and that stderr is one line starting with ``code``."""
    assert main(argv) == status
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err, err
    assert err.startswith(f"{code}: "), err
    return err


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, where MLflow's default store sqlite:///mlflow.db would be made."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", [["check"], ["export", "--format", "jsonl", "-o", "out.jsonl"]])
def test_a_mistyped_database_url_is_e_db_url(
    command: list[str], capsys: pytest.CaptureFixture, empty_cwd: Path
) -> None:
    err = refused(capsys, [*command, "--db", "sqlit:///x.db"], "E_DB_URL")
    assert "'sqlit:///x.db'" in err and "sqlite:///PATH" in err
    assert list(empty_cwd.iterdir()) == []


def test_a_database_in_a_missing_folder_is_e_db_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "no-such-dir"
    err = refused(capsys, ["batch", str(tmp_path), "--db", f"sqlite:///{folder / 'x.db'}"], "E_DB_DIR")
    assert str(folder) in err
    assert not folder.exists()


def test_a_refused_postgresql_connection_is_e_db_connect_with_the_password_hidden(
    capsys: pytest.CaptureFixture,
) -> None:
    started = time.perf_counter()
    err = refused(capsys, ["check", "--db", "postgresql://u:secret@127.0.0.1:1/x"], "E_DB_CONNECT")
    assert time.perf_counter() - started < 5
    assert "secret" not in err and "postgresql://u:***@127.0.0.1:1/x" in err


def test_a_postgresql_server_that_never_answers_is_given_up_on(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listener that accepts the TCP connection and says nothing: libpq alone would wait forever. (The
    listener is closed after 20 s, so a missing timeout fails this test instead of hanging it.)"""
    monkeypatch.setattr(nianbao.store.database, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        closer = threading.Timer(20, silent.close)
        closer.start()
        try:
            started = time.perf_counter()
            url = f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/x"
            refused(capsys, ["check", "--db", url], "E_DB_CONNECT")
            assert time.perf_counter() - started < 10
        finally:
            closer.cancel()


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--format", "jsonl", "-o", "out.jsonl"],
        ["check"],
        ["review", "export", "-o", "corrections.jsonl"],
    ],
)
def test_reading_a_database_that_does_not_exist_is_e_db_missing_and_makes_none(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture, empty_cwd: Path
) -> None:
    db = tmp_path / "nianbao.db"
    refused(capsys, [*command, "--db", f"sqlite:///{db}"], "E_DB_MISSING")
    assert list(tmp_path.iterdir()) == []  # neither the database nor an output file


def test_an_output_in_a_missing_folder_is_e_out_dir_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "no-such-dir"
    out = str(folder / "out.jsonl")
    err = refused(capsys, ["extract", str(SAMPLE), "-o", out], "E_OUT_DIR")
    assert out in err

    db = f"sqlite:///{tmp_path / 'nianbao.db'}"
    Store.open(db).close()
    refused(capsys, ["export", "--db", db, "--format", "jsonl", "-o", out], "E_OUT_DIR")
    refused(capsys, ["review", "export", "--db", db, "-o", out], "E_OUT_DIR")
    assert not folder.exists()  # export used to make it


def test_promote_on_a_fresh_tracking_store_is_refused_without_creating_it(
    capsys: pytest.CaptureFixture, empty_cwd: Path
) -> None:
    refused(capsys, ["promote", "nianbao-field-mapper", "1"], "E_NO_REGISTRY")
    elsewhere = empty_cwd / "other" / "mlflow.db"
    refused(capsys, ["promote", "x", "1", "--tracking-uri", f"sqlite:///{elsewhere}"], "E_NO_REGISTRY")
    assert list(empty_cwd.iterdir()) == []  # no mlflow.db, no mlruns/


# Every command that loads the field mapper takes a models:/ URI the same way (training/model_ref.py).
MODEL_COMMANDS = [
    ["extract", str(SAMPLE)],
    ["batch", str(SAMPLE)],
    ["evaluate", str(SAMPLE.parent)],
    ["inspect", str(SAMPLE), "-o", "pages"],  # refused before its folder is made
]


@pytest.mark.parametrize("command", MODEL_COMMANDS, ids=lambda c: c[0])
def test_a_models_uri_and_no_registry_is_refused_without_creating_one(
    command: list[str], capsys: pytest.CaptureFixture, empty_cwd: Path
) -> None:
    refused(capsys, [*command, "--model", "models:/nianbao-field-mapper@production"], "E_NO_REGISTRY")
    assert list(empty_cwd.iterdir()) == []  # no mlflow.db, and batch made no nianbao.db


@pytest.mark.parametrize(
    "argv",
    [
        ["promote", "no-such-model", "1"],
        ["promote", "no-such-model", "one"],
        *([*command, "--model", "models:/no-such-model@production"] for command in MODEL_COMMANDS),
    ],
)
def test_an_unknown_model_in_an_existing_registry_is_e_no_model(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file store (an existing folder): made in no time, where a new sqlite store needs seconds."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    store.mkdir()
    err = refused(capsys, [*argv, "--tracking-uri", store.as_uri()], "E_NO_MODEL")
    assert "no-such-model" in err


def test_evaluate_on_a_folder_without_labels_fails_its_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "report.md").write_text("# 没有标注的报告\n", encoding="utf-8")
    assert main(["evaluate", str(tmp_path), "--min", "99.5"]) == FAILED
    said = capsys.readouterr()
    assert said.out == ""  # no "0/0 = 100.00 %"
    assert said.err.startswith("E_NO_GOLD: ") and said.err.count("\n") == 1 and str(tmp_path) in said.err


def test_the_console_script_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    command = ["export", "--db", "sqlit:///x.db", "--format", "csv", "-o", "x"]
    run = subprocess.run(
        [sys.executable, "-m", "nianbao.cli", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == REFUSED
    assert run.stderr.startswith("E_DB_URL: ") and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"nianbao {version('nianbao')}"


@pytest.mark.parametrize("command", [*LEAF_COMMANDS, ["review"], []], ids=lambda c: " ".join(c) or "nianbao")
def test_help_shows_defaults_and_an_example(command: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "example:\n  nianbao " in shown
    if command in LEAF_COMMANDS:
        assert "(default" in shown


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    parsers, todo = {}, [("", cli.build_parser())]
    while todo:
        name, parser = todo.pop()
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not groups:
            parsers[name] = parser
        for group in groups:
            todo += [(f"{name} {sub}".strip(), p) for sub, p in group.choices.items()]
    return parsers


def test_every_option_that_takes_a_value_and_may_be_left_out_shows_its_default() -> None:
    parsers = _leaf_parsers()
    assert sorted(parsers) == sorted(" ".join(c) for c in LEAF_COMMANDS)
    for name, parser in parsers.items():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0 or action.required:
                continue  # positionals, flags (-h, --force: off unless given) and required options
            shown = formatter._get_help_string(action) or ""
            assert "(default" in shown, f"nianbao {name} {action.option_strings[0]}: {shown!r}"


def test_every_refusal_of_the_command_line_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    refusals = [code for code in ErrorCode if code.status is not None]
    assert [code for code in refusals if f"`{code}`" not in readme] == []


@pytest.mark.parametrize("command", [["extract", "x"], ["batch", "x"], ["synth", "-o", "x"]])
def test_no_workers_is_a_usage_error_for_every_command_that_takes_them(
    command: list[str], capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as ended:
        main([*command, "--workers", "0"])
    assert ended.value.code == REFUSED
    err = capsys.readouterr().err
    assert "--workers: 0 is no number of processes" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["extract", str(SAMPLE)], ["batch", str(SAMPLE)]])
def test_a_model_that_is_no_file_or_no_model_is_e_model_unreadable(
    command: list[str], capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    database = ["--db", f"sqlite:///{tmp_path / 'x.db'}"] if command[0] == "batch" else []
    missing = tmp_path / "missing.joblib"
    err = refused(capsys, [*command, *database, "--model", str(missing)], "E_MODEL_UNREADABLE")
    assert str(missing) in err and "no such file" in err
    assert list(tmp_path.iterdir()) == []  # refused before a database was made
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"not a model")  # read by the batch's workers, which say so
    err = refused(capsys, [*command, *database, "--model", str(garbage)], "E_MODEL_UNREADABLE")
    assert str(garbage) in err and "cannot be loaded as a model" in err
