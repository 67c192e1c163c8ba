"""The mistakes a user can make on the command line: each has a stable code, one line of cause and its fix.

Why one registry: the codes are an interface (scripts look for them on stderr, the README lists them), so
each is worded once, here. The code that detects a mistake raises ``UserError(code, **details)``; the
CLI's ``main`` prints it as one line, ``CODE: cause — fix``, and exits with the code's status, with no
traceback. A genuine bug is no ``UserError`` and still raises.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILED = 1  # the command ran and what it checked did not pass (a file failed, a gate not met)
REFUSED = 2  # the command could not run: a bad argument, database, path or model (argparse's status too)


@dataclass(frozen=True)
class Problem:
    """What a code means: ``cause`` is a ``str.format`` template over the details its raiser gives."""

    cause: str
    fix: str | None
    status: int = REFUSED


PROBLEMS: dict[str, Problem] = {
    "E_DB": Problem("{where}: {said}", None),  # the driver's own words are the cause; they name the fix
    "E_DB_URL": Problem("{url!r} is not a database URL", "use sqlite:///PATH or postgresql://USER@HOST/DB"),
    "E_DB_DRIVER": Problem(
        "the database driver of {url} is not installed ({said})",
        "use postgresql+psycopg://USER@HOST/DB (installed with nianbao) or install that driver",
    ),
    "E_DB_DIR": Problem(
        "the folder {folder} of {url} does not exist", "create it, or give --db a path in an existing folder"
    ),
    "E_DB_MISSING": Problem(
        "{url} does not exist", "give --db the database that nianbao batch wrote (batch creates it)"
    ),
    "E_DB_CONNECT": Problem(
        "cannot connect to {url}: {said}",
        "check that the server runs and the host, port, user, password and database in --db",
    ),
    "E_NO_REGISTRY": Problem(
        "no MLflow tracking store at {uri}",
        "give --tracking-uri the store nianbao train used (train --register NAME makes one)",
    ),
    "E_NO_MODEL": Problem(
        "{ref} is not in the model registry at {uri} ({said})",
        "give a registered NAME and VERSION or @alias (mlflow ui lists them)",
    ),
    "E_OUT_DIR": Problem(
        "cannot write {path}: the folder {folder} does not exist",
        "create it first, or give -o a path in an existing folder",
    ),
    "E_NO_GOLD": Problem(
        "no labelled documents (NAME.gold.json beside each) in {directory}, so there is nothing to score",
        "give a folder that nianbao synth wrote or one with gold labels",
        status=FAILED,  # a gate that passes on nothing must not pass
    ),
}


class UserError(Exception):
    """A mistake of the user's (argument, path, URL, missing store), reported as one coded line."""

    def __init__(self, code: str, **details: object) -> None:
        self.code = code
        self.problem = PROBLEMS[code]  # an unknown code is a bug: it raises KeyError here, at the raiser
        self.details = details
        super().__init__(self.line())

    @property
    def status(self) -> int:
        return self.problem.status

    def line(self) -> str:
        """``CODE: cause — fix``, the one line the CLI prints."""
        cause = self.problem.cause.format(**self.details)
        return f"{self.code}: {cause}" + (f" — {self.problem.fix}" if self.problem.fix else "")
