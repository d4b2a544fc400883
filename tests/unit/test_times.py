"""``zhifu.alipay.parse_time``: Alipay's two time forms, as aware Beijing-time datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhifu.alipay import BEIJING, parse_time


def test_seconds_form() -> None:
    parsed = parse_time("2023-12-21 16:26:32")
    assert parsed == datetime(2023, 12, 21, 16, 26, 32, tzinfo=BEIJING)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=8)
    assert parsed.astimezone(UTC) == datetime(2023, 12, 21, 8, 26, 32, tzinfo=UTC)


def test_milliseconds_form_of_gmt_refund() -> None:
    # refund notifications write gmt_refund with milliseconds
    parsed = parse_time("2023-05-29 17:31:05.287")
    assert parsed == datetime(2023, 5, 29, 17, 31, 5, 287000, tzinfo=BEIJING)
    assert parse_time("2023-05-29 17:31:05.5") == datetime(
        2023, 5, 29, 17, 31, 5, 500000, tzinfo=BEIJING
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "2023-5-29 17:31:05",  # strptime alone would take it
        " 2023-05-29 17:31:05",
        "2023-05-29 17:31:05 ",
        "2023-05-29T17:31:05",
        "2023-05-29 17:31",
        "2023-13-01 00:00:00",
        "2023-02-30 00:00:00",
        "2023-05-29 17:31:05.",
        "2023-05-29 17:31:05.1234567",
        "2023-05-29 17:31:05+08:00",
        "２０２３-05-29 17:31:05",  # full-width digits
        1685352665,
        b"2023-05-29 17:31:05",
    ],
)
def test_empty_or_invalid_is_none(value: object) -> None:
    assert parse_time(value) is None
