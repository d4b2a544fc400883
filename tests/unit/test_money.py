"""zhifu.money: Decimal yuan with two places, fen conversion, and clear refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhifu.money import (
    MAX_AMOUNT,
    MIN_AMOUNT,
    AmountError,
    format_amount,
    format_yuan,
    from_fen,
    parse_amount,
    parse_money,
    parse_signed_amount,
    to_fen,
)

MAX_FEN = 10_000_000_000  # 100000000.00 yuan
fens = st.integers(min_value=1, max_value=MAX_FEN)


@given(fens)
def test_fen_to_yuan_and_back_is_exact(fen: int) -> None:
    yuan = from_fen(fen)
    assert yuan.as_tuple().exponent == -2
    assert to_fen(yuan) == fen


@given(fens)
def test_format_then_parse_round_trips(fen: int) -> None:
    yuan = from_fen(fen)
    text = format_amount(yuan)
    assert text == f"{fen // 100}.{fen % 100:02d}"
    assert parse_amount(text) == yuan


@given(st.integers(min_value=1, max_value=MAX_FEN))
def test_short_fractions_normalise(fen: int) -> None:
    text = f"{fen // 100}.{fen % 100:02d}".rstrip("0").rstrip(".")
    assert format_amount(parse_amount(text)) == f"{fen // 100}.{fen % 100:02d}"


@given(st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2))
def test_any_two_place_decimal_in_range_is_accepted_unchanged(value: Decimal) -> None:
    assert parse_amount(value) == value
    assert parse_amount(str(value)) == value


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3).filter(
        lambda d: d != d.quantize(Decimal("0.01"))
    )
)
def test_a_third_nonzero_decimal_is_refused(value: Decimal) -> None:
    with pytest.raises(AmountError, match="more than two decimal places"):
        parse_amount(value)


def test_examples() -> None:
    assert str(parse_amount("12.3")) == "12.30"
    assert format_amount(Decimal("12.3")) == "12.30"
    assert parse_amount(12) == Decimal("12.00")
    assert parse_amount(" 0.01 ") == MIN_AMOUNT
    assert parse_amount("100000000") == MAX_AMOUNT
    assert to_fen(Decimal("12.30")) == 1230
    assert from_fen(1230) == Decimal("12.30")
    assert from_fen(0) == Decimal("0.00")
    assert parse_money("0") == Decimal("0.00")  # a sum may be zero; a payable amount may not


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0.1, "float"),
        (12.30, "float"),
        (True, "bool"),
        (float("nan"), "float"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("sNaN"), "not a finite number"),
        (Decimal("Infinity"), "not a finite number"),
        ("nan", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("inf", "not a finite number"),
        ("-1", "negative"),
        (Decimal("-0.01"), "negative"),
        (-5, "negative"),
        ("-0", "negative"),
        ("1.001", "more than two decimal places"),
        ("1e-3", "not a plain amount"),
        ("1e2", "not a plain amount"),
        ("1E1", "not a plain amount"),
        ("+5", "not a plain amount"),
        ("12.300", "more than two decimal places"),
        (".5", "not a plain amount"),
        ("²", "not a number"),
        ("0.001", "more than two decimal places"),
        ("0", "below the minimum"),
        ("0.00", "below the minimum"),
        ("100000000.01", "above the maximum"),
        (10**9, "above the maximum"),
        ("123456789012345678901234567.891", "above the maximum"),
        ("", "empty string"),
        ("   ", "empty string"),
        ("abc", "not a number"),
        ("12,30", "not a number"),
        ("1_000", "not a number"),
        ("١٢", "not a number"),  # Arabic-Indic digits: Decimal() would accept them
        ("¥12", "not a number"),
        (None, "NoneType is not an amount"),
        ([1], "list is not an amount"),
    ],
)
def test_refusals_name_the_problem(value: object, problem: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(value, field="total_amount")
    message = str(info.value)
    assert problem in message
    assert message.startswith("total_amount:")


def test_amount_error_is_a_value_error() -> None:
    assert issubclass(AmountError, ValueError)


@pytest.mark.parametrize("fen", [-1, 1.5, "100", True, None])
def test_from_fen_refuses_non_integers_and_negatives(fen: object) -> None:
    with pytest.raises(AmountError):
        from_fen(fen)  # type: ignore[arg-type]


def test_from_fen_refuses_above_maximum() -> None:
    with pytest.raises(AmountError, match="above the maximum"):
        from_fen(MAX_FEN + 1)


def test_to_fen_refuses_floats() -> None:
    with pytest.raises(AmountError, match="float"):
        to_fen(1.5)  # type: ignore[arg-type]


def test_signed_amounts() -> None:
    assert parse_signed_amount("-12.3") == Decimal("-12.30")
    assert parse_signed_amount(Decimal("-1")) == Decimal("-1.00")
    assert parse_signed_amount("5") == Decimal("5.00")
    with pytest.raises(AmountError, match="below the minimum"):
        parse_signed_amount("-0")
    with pytest.raises(AmountError, match="not a plain amount"):
        parse_signed_amount("--5")


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (Decimal("1234.5"), False, "¥1,234.50"),
        (Decimal("-3"), False, "-¥3.00"),
        (Decimal("3"), True, "+¥3.00"),
        ("0", False, "¥0.00"),
    ],
)
def test_format_yuan(value: object, signed: bool, text: str) -> None:
    assert format_yuan(value, signed=signed) == text


@pytest.mark.parametrize("value", [Decimal("1.005"), "0.001", 1.5, "abc", Decimal("NaN")])
def test_format_yuan_never_rounds_or_guesses(value: object) -> None:
    with pytest.raises(AmountError):
        format_yuan(value)
