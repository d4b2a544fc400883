"""A local Alipay gateway: ``/gateway.do``, a cashier, notifications, a control API. No Django.

Run it with ``zhifu sandbox`` (:func:`zhifu.sandbox.server.serve`); in tests use
:class:`zhifu.sandbox.testing.SandboxServer`. What it imitates: docs/sandbox.en.md.
"""

from .app import Sandbox

__all__ = ["Sandbox"]
