"""Shared fixtures for the protocol unit tests: generated key pairs and the public fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhifu.alipay import KeyPair, generate_key_pair

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="session")
def app_keys() -> KeyPair:
    """The merchant's app key pair."""
    return generate_key_pair()


@pytest.fixture(scope="session")
def alipay_keys() -> KeyPair:
    """A stand-in for Alipay's key pair: signs responses and notifications in tests."""
    return generate_key_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    """A third key pair, for signatures that must NOT verify."""
    return generate_key_pair()
