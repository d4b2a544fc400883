"""Alipay OpenAPI (gateway.do) protocol: keys, signatures, and a client. No Django here."""

from .certs import cert_sn, root_cert_sn
from .client import (
    PRODUCTION_GATEWAY,
    SANDBOX_GATEWAY,
    AlipayClient,
    validate_out_trade_no,
)
from .errors import (
    AlipayBusinessError,
    AlipayError,
    AlipayResponseError,
    AlipayTimeoutError,
    AlipayTransportError,
    InvalidRequestError,
    KeyFormatError,
    SignatureError,
)
from .keys import KeyPair, generate_key_pair, load_private_key, load_public_key, public_key_pem
from .results import (
    CancelResult,
    CloseResult,
    PagePayRequest,
    PrecreateResult,
    RefundQueryResult,
    RefundResult,
    TradeQueryResult,
)
from .signing import Signer, Verifier, notification_content, request_content
from .times import BEIJING, beijing_now, parse_time

__all__ = [
    "BEIJING",
    "PRODUCTION_GATEWAY",
    "SANDBOX_GATEWAY",
    "AlipayBusinessError",
    "AlipayClient",
    "AlipayError",
    "AlipayResponseError",
    "AlipayTimeoutError",
    "AlipayTransportError",
    "CancelResult",
    "CloseResult",
    "InvalidRequestError",
    "KeyFormatError",
    "KeyPair",
    "PagePayRequest",
    "PrecreateResult",
    "RefundQueryResult",
    "RefundResult",
    "SignatureError",
    "Signer",
    "TradeQueryResult",
    "Verifier",
    "beijing_now",
    "cert_sn",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "notification_content",
    "parse_time",
    "public_key_pem",
    "request_content",
    "root_cert_sn",
    "validate_out_trade_no",
]
