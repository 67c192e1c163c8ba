from nianbao.extraction.validation import validate
from nianbao.schema import load_schema


def blank(fmt: str = "2021", value: int | None = 0) -> dict:
    return dict.fromkeys(load_schema().field_keys(fmt), value)


def run(values: dict):
    return validate(values, dict.fromkeys(values, 0.9), load_schema(), "2021")


def test_single_missing_cell_is_inferred_and_flagged() -> None:
    values = blank()
    values.update(
        {"s4.review.upheld": 2, "s4.review.total": 5, "s4.review.pending": 3, "s4.review.corrected": None}
    )
    out = run(values)
    assert out.values["s4.review.corrected"] == 0
    assert {"field": "s4.review.corrected", "kind": "inferred"}.items() <= out.flags[0].to_json().items()


def test_two_missing_cells_are_left_null() -> None:
    values = blank()
    values.update({"s4.review.total": 5, "s4.review.pending": None, "s4.review.corrected": None})
    out = run(values)
    assert out.values["s4.review.pending"] is None and out.values["s4.review.corrected"] is None


def test_broken_identity_keeps_printed_values_and_lowers_confidence() -> None:
    values = blank()
    values.update({"s3.new.natural_person": 4, "s3.new.total": 0})
    out = run(values)
    assert out.values["s3.new.total"] == 0 and out.values["s3.new.natural_person"] == 4
    broken = [f.to_json() for f in out.flags if f.kind == "source_inconsistent"]
    new_row = next(f for f in broken if f["identity"] == "s3.applicants:new")
    assert {"s3.new.total", "s3.new.natural_person"} <= set(new_row["fields"])
    assert out.confidence["s3.new.total"] < 0.5 < out.confidence["s3.carried_over.total"]


def test_all_null_document_infers_nothing() -> None:
    out = run(blank(value=None))
    assert not out.flags and all(v is None for v in out.values.values())


def test_a_misread_ocr_digit_is_repaired_when_exactly_one_change_restores_the_identities() -> None:
    schema = load_schema()
    s4 = schema.sections["s4"]
    values = {k: 0 for k in schema.field_keys("2021")}
    values[s4.key("review", "upheld")] = 3
    values[s4.key("review", "corrected")] = 2
    values[s4.key("review", "total")] = 8  # OCR read the printed 5 as 8
    confidence = dict.fromkeys(values, 0.9)
    ocr_read = set(values)
    out = validate(values, confidence, schema, "2021", ocr_read)
    # total 8 -> 5 fixes it, but so would upheld 3 -> 6 or corrected 2 -> 5: not unique, kept
    assert out.values[s4.key("review", "total")] == 8
    assert any(f.kind == "source_inconsistent" for f in out.flags)
    # Only the total came from OCR (the parts were typed): one change, applied and flagged.
    out = validate(values, confidence, schema, "2021", {s4.key("review", "total")})
    assert out.values[s4.key("review", "total")] == 5
    assert [f.kind for f in out.flags] == ["ocr_repaired"]
    assert out.confidence[s4.key("review", "total")] < 0.9
    # Printed text is never changed.
    assert validate(values, confidence, schema, "2021").values[s4.key("review", "total")] == 8


def test_a_part_larger_than_its_total_is_flagged_even_with_two_blank_cells() -> None:
    values = blank()
    # suit after review: upheld 1, corrected misread 2 -> 12, two blanks, total 3
    values.update(
        {
            "s4.suit_after_review.upheld": 1,
            "s4.suit_after_review.corrected": 12,
            "s4.suit_after_review.other": None,
            "s4.suit_after_review.pending": None,
            "s4.suit_after_review.total": 3,
        }
    )
    out = run(values)
    [flag] = [f.to_json() for f in out.flags if f.identity == "s4.outcomes:suit_after_review"]
    assert flag["kind"] == "source_inconsistent"
    assert set(flag["fields"]) == {
        "s4.suit_after_review.upheld",
        "s4.suit_after_review.corrected",
        "s4.suit_after_review.total",
    }, "the blank cells are not named: they hold nothing to doubt"
    assert out.confidence["s4.suit_after_review.corrected"] < 0.5
    assert out.values["s4.suit_after_review.other"] is None, "nothing is inferred from a bound"


def test_blank_cells_that_can_hold_the_difference_are_no_doubt() -> None:
    values = blank()
    values.update(
        {
            "s4.suit_after_review.upheld": 1,
            "s4.suit_after_review.other": None,
            "s4.suit_after_review.pending": None,
            "s4.suit_after_review.total": 3,
        }
    )
    # and a blank total above printed parts: the total could be anything at least their sum
    values.update({"s4.review.upheld": 4, "s4.review.total": None, "s4.review.pending": None})
    assert not [f for f in run(values).flags if f.kind == "source_inconsistent"]
