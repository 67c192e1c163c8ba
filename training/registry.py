"""MLflow model registry: log trained components as pyfunc models, resolve ``models:/NAME@alias``, promote.

The registered model carries the same artifact the package ships (the joblib bundle with its model card,
or the spaCy pipeline directory), so a registered version is loaded by the same code as the shipped one.
MLflow is imported here only: the default extraction path never loads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.engine import make_url

from nianbao.errors import CodedError, ErrorCode, UserError
from nianbao.store import sqlite_path

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
PIP_REQUIREMENTS = ["nianbao", "scikit-learn", "jieba", "spacy"]  # stated: inferring them runs the model
NOT_FOUND = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})  # MLflow: no such name/version


def tracking_uri(given: str | None = None) -> str:
    return given or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def shown(uri: str) -> str:
    """``uri`` with its password, if any, hidden: it goes into error messages."""
    parts = urlsplit(uri)
    if not parts.password:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def local_store(uri: str) -> Path | None:
    """The file or folder of a tracking store on this machine (``sqlite:///``, ``file:`` or a bare path);
    None for a server, whose existence only it can tell."""
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        return sqlite_path(make_url(uri))
    if scheme == "file":
        return Path(url2pathname(urlsplit(uri).path))
    return Path(uri) if not scheme else None


def existing_store(uri: str) -> str:
    """``uri``, once its local store is known to exist (E_NO_REGISTRY else). Why ask first: MLflow makes
    an empty store (``mlflow.db``) when it opens one that does not exist, and a look-up in a new store can
    only fail, so a refused command would leave that file behind."""
    path = local_store(uri)
    if path is not None and not path.exists():
        raise UserError(ErrorCode.E_NO_REGISTRY, uri=shown(uri))
    return uri


def not_found(exc: MlflowException) -> bool:
    """Is this MLflow's answer for a model name or version it does not hold (a user's mistake)?"""
    return exc.error_code in NOT_FOUND


class FieldMapperModel(mlflow.pyfunc.PythonModel):
    """pyfunc face of the field mapper: label texts in, concepts out."""

    def load_context(self, context) -> None:
        from nianbao.models import load_field_mapper

        self.model, self.card = load_field_mapper(context.artifacts["field_mapper"])

    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        return [str(c) for c in self.model.predict(list(model_input))]


class SectionsModel(mlflow.pyfunc.PythonModel):
    """pyfunc face of the sections pipeline: texts in, section labels out."""

    def load_context(self, context) -> None:
        from nianbao.models.sections import SectionReader

        self.reader = SectionReader.load(context.artifacts["sections"])

    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        return [label for label, _ in self.reader.classify(list(model_input))]


COMPONENTS = {"field_mapper": FieldMapperModel, "sections": SectionsModel}


def log_component(component: str, artifact: Path, registered_name: str | None, alias: str) -> str | None:
    """Log one component in the active run, register it when a name is given, and give it ``alias``
    when no version has it yet (later moves are `nianbao promote`'s). Returns the registered version."""
    info = mlflow.pyfunc.log_model(
        name=component,
        python_model=COMPONENTS[component](),
        artifacts={component: str(artifact)},
        pip_requirements=PIP_REQUIREMENTS,
        registered_model_name=registered_name,
        tags={"component": component},
    )
    if not registered_name:
        return None
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_model_version_tag(registered_name, version, "component", component)
    if alias not in client.get_registered_model(registered_name).aliases:
        client.set_registered_model_alias(registered_name, alias, version)
    return version


def download(uri: str, tracking: str | None = None) -> Path:
    """The local directory of a logged model (``models:/NAME@alias``, ``models:/NAME/3``, ``runs:/…``)."""
    store = existing_store(tracking_uri(tracking))
    mlflow.set_tracking_uri(store)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except MlflowException as exc:
        if not not_found(exc):
            raise
        raise UserError(
            ErrorCode.E_NO_MODEL, ref=uri, uri=shown(store), said=exc.message.splitlines()[0]
        ) from exc


def component_artifact(uri: str, tracking: str | None = None) -> tuple[str, Path]:
    """(component, path of its artifact) inside a logged model."""
    root = download(uri, tracking)
    for component in COMPONENTS:
        for candidate in sorted((root / "artifacts").glob(f"{component}*")):
            return component, candidate
    raise CodedError(ErrorCode.E_MODEL_ARTIFACT, f"{uri} holds no nianbao component")


def registered_field_mapper(uri: str, tracking: str | None = None) -> str:
    """The local artifact path of the field mapper a model URI names (model_ref.py tells a URI from a
    path and calls this)."""
    component, path = component_artifact(uri, tracking)
    if component != "field_mapper":
        raise CodedError(ErrorCode.E_MODEL_COMPONENT, f"{uri} is a {component} model, not a field mapper")
    return str(path)
