"""The request timestamp: strict format (test_gateway.py) and a window around Beijing time.

Alipay documents no tolerance, but refuses the timestamps of clients that format local time on
a UTC host (8 h behind). The sandbox refuses anything further than ``timestamp_skew`` seconds
(default 900) from Beijing *wall-clock* time; ``0`` turns the check off. The window is measured
against real time, not the sandbox clock, which --time-scale and the clock API move.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from zhifu.alipay import AlipayBusinessError, beijing_now
from zhifu.sandbox.testing import SandboxServer

from .helpers import call, params_for, test_keys, verify

QUERY = "alipay.trade.query"


def stamp(offset_seconds: float) -> str:
    return (beijing_now() + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%d %H:%M:%S")


def query_with_timestamp(sb: SandboxServer, timestamp: str) -> dict:
    _top, _name, node, text = call(
        sb, params_for(sb, QUERY, {"out_trade_no": "t"}, timestamp=timestamp)
    )
    assert verify(sb, text, QUERY).signed  # Alipay signs isv.invalid-timestamp answers
    return node


def test_default_window_is_fifteen_minutes_either_way(sb):
    assert sb.info["timestamp_skew"] == 900.0
    for offset in (-600, 600):  # inside: the call reaches the business check
        assert query_with_timestamp(sb, stamp(offset))["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    for offset in (-1200, 1200):
        node = query_with_timestamp(sb, stamp(offset))
        assert (node["code"], node["sub_code"]) == ("40002", "isv.invalid-timestamp"), node
        assert "allowed: ±900 s" in node["sub_msg"]


def test_utc_local_time_is_refused_with_the_reason(sb):
    utc_wall_clock = stamp(-8 * 3600)  # what datetime.now() gives on a UTC host
    node = query_with_timestamp(sb, utc_wall_clock)
    assert node["sub_code"] == "isv.invalid-timestamp"
    assert "8 h behind Beijing time" in node["sub_msg"] and "UTC+8" in node["sub_msg"]


def test_the_sandbox_clock_does_not_move_the_window(sb):
    sb.advance_clock(3 * 86400)  # trades expire, retries fire... but clients keep real time
    client = sb.client()
    with pytest.raises(AlipayBusinessError) as info:
        client.query(out_trade_no="nothing")
    assert info.value.sub_code == "ACQ.TRADE_NOT_EXIST"


def test_fast_clock_does_not_move_the_window():
    with SandboxServer(time_scale=100000.0, keys=test_keys()) as fast:
        fast.advance_clock(1)  # a day passes every real second here
        node = query_with_timestamp(fast, stamp(0))
        assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_zero_turns_the_window_off_but_not_the_format_check():
    with SandboxServer(timestamp_skew=0, keys=test_keys()) as lax:
        assert lax.info["timestamp_skew"] == 0.0
        assert query_with_timestamp(lax, stamp(-8 * 3600))["sub_code"] == "ACQ.TRADE_NOT_EXIST"
        assert query_with_timestamp(lax, "2000-01-01 00:00:00")["sub_code"] == "ACQ.TRADE_NOT_EXIST"
        assert query_with_timestamp(lax, "2000-01-01")["sub_code"] == "isv.invalid-timestamp"


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "900"])
def test_bad_window_is_refused_at_start(tmp_path, bad):
    from zhifu.sandbox.server import SandboxStartError

    with pytest.raises(SandboxStartError, match="timestamp_skew"):
        SandboxServer(tmp_path / "bad", timestamp_skew=bad).start()
