from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from nianbao.extraction.pipeline import Extractor
from nianbao.store import Store

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    return Extractor.load()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty SQLite store of its own for each test (modules that need another one define theirs)."""
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory: pytest.TempPathFactory, extractor: Extractor) -> tuple[Path, dict[str, int]]:
    """A database holding test_app's documents (one per input form), built once per module and copied
    by the tests that review in it."""
    from test_app import fill_store

    path = tmp_path_factory.mktemp("db") / "filled.db"
    made = Store.open(f"sqlite:///{path}")
    ids = fill_store(made, extractor)
    made.close()
    return path, ids


@pytest.fixture(scope="session")
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    return SEEDS


def _postgres_bin() -> Path | None:
    """Debian's server binaries (package postgresql), newest major version first."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket, when Debian's postgresql package is installed."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql)")
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as postgres.
    home = Path(tempfile.mkdtemp(prefix="nianbao-pg-"))
    # The server refuses to run as root: run it as Debian's postgres user when we are root.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(home, "postgres")
    data, port = home / "data", 55432 + os.getpid() % 1000

    def run(tool: str, *args: str) -> None:
        command = [*as_user, str(bin_dir / tool), "-D", str(data), *args]
        subprocess.run(command, check=True, capture_output=True)

    run("initdb", "-A", "trust", "-U", "nianbao")
    run("pg_ctl", "-o", f"-k {home} -p {port} -c listen_addresses=''", "-l", str(home / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://nianbao@/postgres?host={home}&port={port}"
    finally:
        run("pg_ctl", "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database the store supports: a SQLite file, and PostgreSQL where a server can be started."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nianbao.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    database = f"test_{uuid.uuid4().hex[:12]}"  # a fresh database per test on the shared server
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {database}"))
    admin.dispose()
    yield url.replace("/postgres?", f"/{database}?")
