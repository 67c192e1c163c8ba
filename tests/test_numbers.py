import pytest

from nianbao.extraction.numbers import is_page_mark, is_value, parse_value


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("0", False, 0),
        ("１２３", False, 123),
        ("1,234", False, 1234),
        ("+3", False, 3),
        ("-2", False, -2),
        ("—", False, None),
        ("/", False, None),
        ("无", False, None),
        ("不涉及", False, None),
        ("", False, None),
        ("86000元", True, 8.6),
        ("3.25", True, 3.25),
        ("12.5万元", True, 12.5),
        ("0.00", True, 0),
    ],
)
def test_parse_value(text: str, decimal: bool, expected: object) -> None:
    assert parse_value(text, decimal=decimal).value == expected


def test_header_in_yuan_converts_plain_numbers() -> None:
    assert parse_value("5000", decimal=True, unit_yuan=True).value == 0.5


def test_a_count_with_a_dot_for_its_thousands_comma_is_read_as_the_count_but_doubted() -> None:
    assert parse_value("1.633") == parse_value("1,633").__class__(1633, False)
    assert parse_value("1.633", decimal=True).value == 1.633, "an amount in 万元 keeps its decimals"
    assert parse_value("2.5").value == 2.5 and not parse_value("2.5").exact


def test_prose_numbers_are_kept_but_doubted() -> None:
    parsed = parse_value("35（其中修订12件）")
    assert parsed.value == 35 and not parsed.exact


@pytest.mark.parametrize("text", ["2024年", "100%", "1.", "第二十条", "自然人"])
def test_labels_are_not_values(text: str) -> None:
    assert not is_value(text)


def test_page_marks() -> None:
    assert is_page_mark("— 2 —") and is_page_mark("第 3 页") and not is_page_mark("2")
    assert is_page_mark("3/12") and is_page_mark("3 / 12")
    assert not is_page_mark("2 0 0 0 1 / 3")  # a row of values with a null marker
