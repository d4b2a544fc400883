"""The troubleshooting page explains every code Zhifu can return, in both languages."""

from __future__ import annotations

import re

import pytest

from .codes import check_ids, error_codes
from .pages import LANGUAGES, page

HEADING = re.compile(r"^#{2,4} `([^`]+)`", re.MULTILINE)


def documented(language: str) -> set[str]:
    return set(HEADING.findall(page("troubleshooting", language).read_text(encoding="utf-8")))


def test_the_source_scan_finds_the_codes_it_should():
    # Guards the scanner itself: if it silently found nothing, the test below would pass.
    codes = error_codes()
    for known in (
        "order_not_found",
        "refund_exceeds_paid",
        "not_authenticated",
        "token_invalid",
        "internal_error",
        "bad_signature",
        "missing_parameters",
        "amount",
    ):
        assert known in codes
    assert "detail" not in codes  # a DRF key, not a code
    assert {"zhifu.E001", "zhifu.W001"} <= set(check_ids())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_in_the_source_is_on_the_troubleshooting_page(language):
    in_source = {**error_codes(), **check_ids()}
    missing = {code: where for code, where in in_source.items() if code not in documented(language)}
    assert not missing, (
        f"codes raised in src/zhifu but not explained in {page('troubleshooting', language).name} "
        f"(add a '### `code`' section saying what it means and what to do): {missing}"
    )


def test_both_languages_explain_the_same_codes():
    assert documented("zh") == documented("en")
