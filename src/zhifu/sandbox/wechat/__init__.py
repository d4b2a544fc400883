"""The WeChat Pay API v3 side of the sandbox: ``/v3/...`` beside ``/gateway.do``.

It signs, verifies and encrypts with :mod:`zhifu.wechatpay` (the code the client uses), keeps its
state in the sandbox's SQLite file, and runs on the sandbox clock. What it imitates:
docs/sandbox.en.md ("WeChat Pay").
"""

from .service import WechatSandbox

__all__ = ["WechatSandbox"]
