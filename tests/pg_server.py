"""A throwaway PostgreSQL server on a Unix socket, for the tests (conftest's ``postgres_url``) and
``benchmarks/bench_batch.py`` alike: one way to start and stop it, so both measure the same server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

INSTALL_HINT = "PostgreSQL server not installed (apt-get install postgresql)"


def postgres_bin() -> Path | None:
    """Debian's server binaries (package postgresql) of the newest major version installed; None without."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@contextmanager
def throwaway_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a server from ``bin_dir`` in a temporary folder; yield the URL of its ``postgres`` database;
    stop it and remove the folder on exit."""
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

    try:
        run("initdb", "-A", "trust", "-U", "nianbao")
        options = f"-k {home} -p {port} -c listen_addresses=''"  # a Unix socket in home, no TCP
        run("pg_ctl", "-o", options, "-l", str(home / "log"), "-w", "start")
        try:
            yield f"postgresql+psycopg://nianbao@/postgres?host={home}&port={port}"
        finally:
            run("pg_ctl", "-m", "immediate", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def fresh_database(server_url: str, prefix: str = "test") -> str:
    """Create an empty database on the server ``server_url`` points at; return its URL."""
    database = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {database}"))
    admin.dispose()
    return server_url.replace("/postgres?", f"/{database}?")
