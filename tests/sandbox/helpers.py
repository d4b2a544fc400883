"""Raw gateway calls for tests that need to break the protocol on purpose."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlencode

import httpx

from zhifu.alipay import KeyPair, Signer, Verifier, beijing_now, generate_key_pair
from zhifu.sandbox.testing import SandboxKeys, SandboxServer


@functools.cache
def test_keys() -> SandboxKeys:
    """One set of sandbox keys for the whole test session: RSA-2048 generation costs ~0.1 s a
    key, and every sandbox would otherwise make three."""
    return SandboxKeys.generate()


test_keys.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@functools.cache
def other_key_pair() -> KeyPair:
    """A key pair that belongs to no sandbox: for apps the tests register, and for signatures
    that must not verify."""
    return generate_key_pair()


def params_for(
    sb: SandboxServer, api_method: str, biz: dict[str, Any] | str | None, **overrides: str | None
) -> dict[str, str]:
    """Signed request parameters; an override of None removes the parameter before signing."""
    params: dict[str, str] = {
        "app_id": sb.default_app.app_id,
        "method": api_method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": beijing_now().strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
    }
    if biz is not None:
        params["biz_content"] = biz if isinstance(biz, str) else json.dumps(biz, ensure_ascii=False)
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    sign_type = params.get("sign_type", "RSA2")
    signer = Signer(sb.default_app.app_private_key_pem, "RSA" if sign_type == "RSA" else "RSA2")
    params["sign"] = signer.sign_params(
        params, "gb18030" if params["charset"] == "gbk" else "utf-8"
    )
    return params


def call(sb: SandboxServer, params: dict[str, str], *, post: bool = True, charset: str = "utf-8"):
    """Send params; return (top-level JSON, node name, node dict, raw body)."""
    encoding = "gb18030" if charset == "gbk" else "utf-8"
    if post:
        body = urlencode(params, encoding=encoding)
        response = httpx.post(
            sb.gateway_url,
            content=body.encode("ascii"),
            headers={"Content-Type": f"application/x-www-form-urlencoded;charset={charset}"},
        )
    else:
        response = httpx.get(sb.gateway_url + "?" + urlencode(params, encoding=encoding))
    assert response.status_code == 200
    text = response.content.decode(encoding)
    top = json.loads(text)
    names = [k for k in top if k.endswith("_response")]
    assert len(names) == 1, text
    return top, names[0], top[names[0]], text


def verify(
    sb: SandboxServer, text: str, method: str, sign_type: str = "RSA2", charset: str = "utf-8"
):
    return Verifier(sb.default_app.alipay_public_key_pem).verify_response(
        text, method, sign_type=sign_type, charset=charset
    )
