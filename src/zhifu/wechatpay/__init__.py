"""WeChat Pay API v3 protocol: keys, signatures, AES-GCM, notifications and a client. No Django."""

from .aead import decrypt, decrypt_resource, encrypt, encrypt_resource
from .certificates import PlatformCertificate, PlatformCertificates, parse_certificates_response
from .client import (
    BACKUP_BASE_URL,
    PRODUCTION_BASE_URL,
    ApiResponse,
    WechatPayClient,
    validate_out_refund_no,
    validate_out_trade_no,
)
from .errors import (
    DecryptionError,
    InvalidRequestError,
    KeyFormatError,
    SignatureError,
    WechatPayAPIError,
    WechatPayError,
    WechatPayResponseError,
    WechatPayTimeoutError,
    WechatPayTransportError,
)
from .keys import (
    MerchantCertificate,
    certificate_serial,
    generate_merchant_certificate,
    load_apiv3_key,
    load_certificate,
    load_private_key,
    load_public_key,
)
from .notifications import Notification, build_notification, failure_body, parse_notification
from .results import H5Prepay, JsapiPrepay, NativePrepay, Refund, Transaction
from .signing import (
    Authorization,
    RequestSigner,
    parse_authorization,
    request_message,
    response_headers,
    response_message,
)
from .times import BEIJING, beijing_now, format_time, parse_time
from .verification import PROBE_PREFIX, VerifiedSignature, Verifier

__all__ = [
    "BACKUP_BASE_URL",
    "BEIJING",
    "PROBE_PREFIX",
    "PRODUCTION_BASE_URL",
    "ApiResponse",
    "Authorization",
    "DecryptionError",
    "H5Prepay",
    "InvalidRequestError",
    "JsapiPrepay",
    "KeyFormatError",
    "MerchantCertificate",
    "NativePrepay",
    "Notification",
    "PlatformCertificate",
    "PlatformCertificates",
    "Refund",
    "RequestSigner",
    "SignatureError",
    "Transaction",
    "VerifiedSignature",
    "Verifier",
    "WechatPayAPIError",
    "WechatPayClient",
    "WechatPayError",
    "WechatPayResponseError",
    "WechatPayTimeoutError",
    "WechatPayTransportError",
    "beijing_now",
    "build_notification",
    "certificate_serial",
    "decrypt",
    "decrypt_resource",
    "encrypt",
    "encrypt_resource",
    "failure_body",
    "format_time",
    "generate_merchant_certificate",
    "load_apiv3_key",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "parse_authorization",
    "parse_certificates_response",
    "parse_notification",
    "parse_time",
    "request_message",
    "response_headers",
    "response_message",
    "validate_out_refund_no",
    "validate_out_trade_no",
]
