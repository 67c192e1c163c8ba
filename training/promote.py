"""``nianbao promote NAME VERSION``: move the in-use alias to a candidate that is not worse.

Field mappers are compared by the whole extractor on the kept evaluation set (data/evalset/v1, text forms
and text PDF; its 3 scans are left out: OCR costs ~10 s each and does not depend on the field mapper's
vocabulary more than printed text does). Sections pipelines are compared on the held-out headings of the
training config. "Not worse" means at least as many right answers on the same items.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from nianbao.errors import ErrorCode, UserError
from nianbao.training.config import TrainConfig, load_config
from nianbao.training.registry import component_artifact, existing_store, not_found, shown, tracking_uri

EVALSET = Path(str(resources.files("nianbao.data").joinpath("evalset", "v1")))
SKIPPED_FORMS = ("scan",)


@dataclass(frozen=True)
class Score:
    right: int
    total: int
    detail: dict[str, float]

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def fixed_set(directory: Path = EVALSET) -> list:
    from nianbao.evaluation.synth.corpus import load_labelled

    return [
        item for item in load_labelled(directory) if item[2].get("synth", {}).get("form") not in SKIPPED_FORMS
    ]


def score_field_mapper(path: Path, labelled: list) -> Score:
    from nianbao.models import load_field_mapper
    from nianbao.training.train import score

    model, _ = load_field_mapper(str(path))
    report = score(model, labelled)
    detail = {f"form {k}": t.accuracy for k, t in sorted(report.by_form.items())}
    detail |= {f"section {k}": t.accuracy for k, t in sorted(report.by_section.items())}
    return Score(report.overall.right, report.overall.total, detail)


def score_sections(path: Path, config: TrainConfig) -> Score:
    from nianbao.models.sections import SectionReader
    from nianbao.training.section_examples import examples

    s = config.sections
    data = examples(config.training.seed + 1, s.dev_reports, s.copies, config)
    reader = SectionReader.load(path)
    predicted = [label for label, _ in reader.classify([t for t, _ in data])]
    right = sum(p == gold for p, (_, gold) in zip(predicted, data, strict=True))
    return Score(right, len(data), {})


def _score(component: str, path: Path, config: TrainConfig, labelled: list) -> Score:
    return score_field_mapper(path, labelled) if component == "field_mapper" else score_sections(path, config)


def promote(
    name: str,
    version: str,
    force: bool = False,
    tracking: str | None = None,
    config: TrainConfig | None = None,
    labelled: list | None = None,
    out=print,
) -> int:
    """Exit status: 0 when the alias now names ``version``, 1 when the candidate is worse (not moved).
    A store or model version that does not exist is a ``UserError`` (E_NO_REGISTRY, E_NO_MODEL)."""
    config = config or load_config()
    uri = existing_store(tracking_uri(tracking or config.mlflow.tracking_uri))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    alias = config.mlflow.alias
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        if not not_found(exc):
            raise
        ref, said = f"models:/{name}/{version}", exc.message.splitlines()[0]
        raise UserError(ErrorCode.E_NO_MODEL, ref=ref, uri=shown(uri), said=said) from exc
    component, candidate_path = component_artifact(f"models:/{name}/{version}", uri)
    try:
        current = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        current = None
    if current is None:
        client.set_registered_model_alias(name, alias, version)
        out(f"{name}@{alias}: no version had it; now version {version}")
        return 0
    if str(current.version) == str(version):
        out(f"{name}@{alias} is already version {version}")
        return 0
    labelled = labelled if labelled is not None else (fixed_set() if component == "field_mapper" else [])
    _, current_path = component_artifact(f"models:/{name}/{current.version}", uri)
    mine, theirs = (_score(component, p, config, labelled) for p in (candidate_path, current_path))
    what = "kept evaluation set v1 without scans" if component == "field_mapper" else "held-out headings"
    out(f"{name} on the {what}: candidate v{version} vs {alias} v{current.version}")
    out(
        f"  overall: {mine.right}/{mine.total} = {mine.accuracy:.4%}  vs  "
        f"{theirs.right}/{theirs.total} = {theirs.accuracy:.4%}"
    )
    for key in mine.detail:
        out(f"  {key}: {mine.detail[key]:.4%}  vs  {theirs.detail.get(key, float('nan')):.4%}")
    worse = mine.right < theirs.right
    if worse and not force:
        out(f"refused: version {version} is worse than version {current.version}; --force to promote anyway")
        return 1
    client.set_registered_model_alias(name, alias, version)
    out(f"{name}@{alias} → version {version}" + (" (forced)" if worse else ""))
    return 0
