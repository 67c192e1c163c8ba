import json
from pathlib import Path

import yaml

from nianbao.schema import load_schema

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "spec" / "fields.yaml"


def test_keys_match_seed_gold(seeds: Path) -> None:
    schema = load_schema()
    for gold in seeds.glob("*.gold.json"):
        labelled = json.loads(gold.read_text("utf-8"))
        assert list(labelled["fields"]) == schema.field_keys(labelled["meta"]["format"])


def test_keys_match_contract() -> None:
    if not CONTRACT.is_file():
        import pytest

        pytest.skip("contract not beside this checkout")
    contract = yaml.safe_load(CONTRACT.read_text("utf-8"))
    schema = load_schema()
    for fmt in ("2021", "2019"):
        keys = schema.field_keys(fmt)
        assert [k for k in keys if k.startswith("s2.")] == list(contract["section_2"][fmt])
        s3 = contract["section_3"]
        columns = list(s3["columns"])
        assert {k for k in keys if k.startswith("s4.")} == {
            f"s4.{g}.{o}" for g in contract["section_4"]["groups"] for o in contract["section_4"]["outcomes"]
        }
        rows = {k.rsplit(".", 1)[0][3:] for k in keys if k.startswith("s3.")}
        assert rows <= set(s3["rows"])
        assert all(k.rsplit(".", 1)[1] in columns for k in keys if k.startswith("s3."))
    only_2019 = {r.rsplit(".", 1)[0] for r in schema.field_keys("2019")} - {
        r.rsplit(".", 1)[0] for r in schema.field_keys("2021")
    }
    assert "s3.other" in only_2019


def test_identities_cover_every_column() -> None:
    schema = load_schema()
    ids = schema.identities["2021"]
    assert sum(1 for i in ids if i.id == "s3.balance") == 7
    outcomes = next(i for i in ids if i.id == "s3.outcomes" and i.where == "total")
    assert "s3.other.other.total" in outcomes.rhs and "s3.withheld.query.total" in outcomes.rhs
    assert sum(1 for i in schema.identities["2019"] if i.id == "s4.outcomes") == 3
