"""The two ways a probe cannot run at all; both end it with exit status 2 and one clear line."""

from __future__ import annotations

__all__ = ["ProbeError", "ProbeInputError", "Unreachable"]


class ProbeError(Exception):
    """The probe cannot run: nothing can be said about the endpoint."""


class ProbeInputError(ProbeError):
    """Unusable input: a key file that is not a key, a sandbox dir that is not one, a bad URL."""


class Unreachable(ProbeError):
    """The endpoint cannot be reached at all (connection refused, unknown host, TLS failure)."""
