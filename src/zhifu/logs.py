"""Structured, safe logs.

Every Zhifu log record about a payment carries ``extra`` fields naming what it is about, so that
a JSON formatter (e.g. :class:`JsonFormatter`, or python-json-logger) can index them:

- ``zhifu_order``: the order's ``out_trade_no``
- ``zhifu_payment``: the payment attempt's ``out_trade_no`` (the one Alipay knows)
- ``zhifu_trade``: Alipay's ``trade_no``
- ``zhifu_refund``: the refund's ``out_request_no``
- ``zhifu_event``: what happened (``paid``, ``notification_rejected``, ``refund_failed``...)

Nothing Zhifu logs contains a key, a signature or a token. As a second line of defence,
:class:`RedactFilter` (installed on Zhifu's loggers and on ``httpx``/``httpcore``, whose INFO
line shows the gateway URL with its ``sign=`` parameter) rewrites signatures, PEM keys, JWTs,
bearer tokens, Django password hashes and session keys (SQL logs) out of any record that reaches
those loggers; a site can put it on its own handlers too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

__all__ = ["LOGGERS", "JsonFormatter", "RedactFilter", "ctx", "install", "redact"]

LOGGERS = (
    "zhifu",
    "zhifu.api",
    "zhifu.notifications",
    "zhifu.orders",
    "zhifu.payments",
    "zhifu.providers.alipay",
    "zhifu.reconcile",
    "zhifu.refunds",
    "zhifu.transitions",
    "zhifu.views",
    "zhifu.wallet",
    "httpx",
    "httpcore",
)


def _redact_literals(match: re.Match[str]) -> str:
    return re.sub(r"'(?:[^']|'')*'", "'[redacted]'", match.group(0))


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        "[redacted private key]",
    ),
    (re.compile(r"(?i)\b(sign)=[^&\s\"'<>]+"), r"\1=[redacted]"),
    (re.compile(r"(?i)([\"']sign[\"']\s*:\s*[\"'])[^\"']+"), r"\1[redacted]"),
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}"), "[redacted token]"),
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    # Django's password hashes ("pbkdf2_sha256$…", "argon2$argon2id$…"), e.g. in SQL logs.
    (
        re.compile(
            r"\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|md5|sha1)"
            r"\$[^\s'\"]+"
        ),
        "[redacted password hash]",
    ),
    # SQL on Django's session table (DEBUG SQL logs): its keys and data are bearer credentials.
    (re.compile(r"[^\n]*\bdjango_session\b[^\n]*"), _redact_literals),
)


# A literal each pattern above needs in order to match (lower case): most log lines contain none,
# and testing for them costs far less than running the patterns (measured: the patterns were
# 17% of a notification's CPU with INFO logging on, the django_session one scanning quadratically).
_NEEDS = ("private key", "sign", "sign", "eyj", "bearer", "$", "django_session")


def redact(text: str) -> str:
    """``text`` without signatures, private keys, JWTs or bearer tokens."""
    lowered = text.lower()
    for (pattern, replacement), needed in zip(_PATTERNS, _NEEDS, strict=True):
        if needed in lowered:
            text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites a record's message through :func:`redact` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def ctx(
    event: str = "",
    *,
    order: Any = None,
    payment: Any = None,
    trade: str = "",
    refund: Any = None,
) -> dict[str, str]:
    """``extra=`` fields for a log call; model instances or plain strings are accepted."""
    fields: dict[str, str] = {}
    if event:
        fields["zhifu_event"] = event
    for key, value, attr in (
        ("zhifu_order", order, "out_trade_no"),
        ("zhifu_payment", payment, "out_trade_no"),
        ("zhifu_refund", refund, "out_request_no"),
    ):
        if value is not None and value != "":
            fields[key] = str(getattr(value, attr, value))
    if trade:
        fields["zhifu_trade"] = str(trade)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ``zhifu_*`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        data.update({k: v for k, v in vars(record).items() if k.startswith("zhifu_")})
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


_FILTER = RedactFilter()


def install() -> None:
    """Add :class:`RedactFilter` to Zhifu's loggers and httpx's (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
