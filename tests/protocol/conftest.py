"""Fixtures for the protocol tests: zhifu.alipay.AlipayClient against a real sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.conftest import Receiver
from tests.sandbox.helpers import test_keys
from zhifu.alipay import AlipayClient
from zhifu.sandbox.testing import SandboxServer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(keys=test_keys()) as server:  # a temporary data dir, removed after
        yield server


@pytest.fixture
def client(sb: SandboxServer, receiver: Receiver) -> AlipayClient:
    return sb.client(notify_url=receiver.url, return_url="http://shop.test/return")
