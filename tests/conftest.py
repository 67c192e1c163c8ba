from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import INSTALL_HINT, fresh_database, postgres_bin, throwaway_postgres

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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket, when Debian's postgresql package is installed."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(INSTALL_HINT)
    with throwaway_postgres(bin_dir) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database the store supports: a SQLite file, and PostgreSQL where a server can be started."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nianbao.db'}"
        return
    yield fresh_database(request.getfixturevalue("postgres_url"))  # one per test on the shared server
