"""MLflow registry on a temporary SQLite store: promote refuses a worse model; extract, batch and evaluate
read models:/ URIs."""

from __future__ import annotations

import json
import random
import shutil

import mlflow
import pytest
from mlflow import MlflowClient

from nianbao.cli import main
from nianbao.evaluation.synth.corpus import gold_path, load_labelled
from nianbao.models import save_model
from nianbao.training.config import load_config
from nianbao.training.corpus import LabelCorpus
from nianbao.training.promote import EVALSET, promote
from nianbao.training.registry import log_component
from nianbao.training.train import fit, label_corpus

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

NAME = "test-field-mapper"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Versions 1 (good), 2 (worse: labels shuffled), 3 (the same as 1) of one registered field mapper."""
    work = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    config = load_config().replace("corpus", per_concept=10, none_per_wording=2, synthesized_reports=20)
    corpus, _ = label_corpus(config, [])
    shuffled = list(corpus.labels)
    random.Random(1).shuffle(shuffled)
    good, bad = fit(config, corpus), fit(config, LabelCorpus(corpus.texts, shuffled))
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("test", artifact_location=(work / "artifacts").as_uri())  # not ./mlruns
    mlflow.set_experiment("test")
    for version, model in enumerate((good, bad, good), 1):
        path = work / f"v{version}" / "field_mapper.joblib"
        save_model(model, path, {"component": "field_mapper", "test_version": version})
        with mlflow.start_run():
            assert log_component("field_mapper", path, NAME, "production") == str(version)
    labelled = [x for x in load_labelled(EVALSET) if x[2]["synth"]["form"] in ("md", "html")][:6]
    return uri, config, labelled, work


def _alias(uri: str) -> str:
    return str(MlflowClient(tracking_uri=uri).get_model_version_by_alias(NAME, "production").version)


def test_first_registration_takes_the_alias(registry):
    uri, *_ = registry
    assert _alias(uri) == "1"


def test_promote_refuses_a_worse_candidate_and_accepts_an_equal_one(registry):
    uri, config, labelled, _ = registry
    said: list[str] = []
    assert promote(NAME, "2", tracking=uri, config=config, labelled=labelled, out=said.append) == 1
    assert _alias(uri) == "1"
    assert any("refused" in line for line in said) and any("overall" in line for line in said)
    assert promote(NAME, "3", tracking=uri, config=config, labelled=labelled, out=said.append) == 0
    assert _alias(uri) == "3"
    assert (
        promote(NAME, "2", force=True, tracking=uri, config=config, labelled=labelled, out=said.append) == 0
    )
    assert _alias(uri) == "2"
    assert promote(NAME, "3", tracking=uri, config=config, labelled=labelled, out=said.append) == 0
    assert _alias(uri) == "3"


def test_extract_with_a_models_uri_uses_the_registered_model(registry, tmp_path):
    uri, _, labelled, work = registry
    document = labelled[0][0]
    out_uri, out_path = tmp_path / "uri.jsonl", tmp_path / "path.jsonl"
    main(
        ["extract", str(document), "--model", f"models:/{NAME}/2", "--tracking-uri", uri, "-o", str(out_uri)]
    )
    main(["extract", str(document), "--model", str(work / "v2" / "field_mapper.joblib"), "-o", str(out_path)])
    by_uri, by_path = (json.loads(p.read_text("utf-8")) for p in (out_uri, out_path))
    assert by_uri["fields"] == by_path["fields"]
    main(
        [
            "extract",
            str(document),
            "--model",
            f"models:/{NAME}@production",
            "--tracking-uri",
            uri,
            "-o",
            str(out_uri),
        ]
    )
    good = json.loads(out_uri.read_text("utf-8"))
    right = sum(good["fields"].get(k) == v for k, v in labelled[0][2]["fields"].items())
    wrong_model = sum(by_uri["fields"].get(k) == v for k, v in labelled[0][2]["fields"].items())
    assert right > wrong_model  # the alias names the good model, version 2 the shuffled one


def test_batch_and_evaluate_read_a_models_uri_as_extract_does(registry, tmp_path, capsys, monkeypatch):
    """One registered version named by its URI or by its artifact's path: the same evaluation, the same
    stored fields. The store comes from $MLFLOW_TRACKING_URI: evaluate's --tracking-uri would log a run."""
    uri, _, labelled, work = registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    folder = tmp_path / "labelled"
    folder.mkdir()
    documents = [shutil.copy(document, folder) for document, _, _ in labelled[:2]]
    for document, _, _ in labelled[:2]:
        shutil.copy(gold_path(document), folder)
    models = {"path": str(work / "v2" / "field_mapper.joblib"), "uri": f"models:/{NAME}/2"}
    evaluations, datasets = {}, {}
    for how, model in models.items():
        main(["evaluate", str(folder), "--no-baseline", "--model", model])
        evaluations[how] = capsys.readouterr().out
        db, out = f"sqlite:///{tmp_path / how}.db", tmp_path / f"{how}.jsonl"
        main(["batch", *map(str, documents), "--db", db, "--workers", "1", "--model", model])
        main(["export", "--db", db, "--format", "jsonl", "--all", "-o", str(out)])
        datasets[how] = out.read_text("utf-8")
        capsys.readouterr()  # batch's and export's lines
    assert evaluations["uri"] == evaluations["path"] and evaluations["uri"]
    assert datasets["uri"] == datasets["path"] and datasets["uri"].count("\n") == 2
