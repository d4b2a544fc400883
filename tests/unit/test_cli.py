"""The `zhifu` command, run for real (the installed script) and through main()."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from zhifu.alipay import KeyPair, Signer, load_private_key, load_public_key
from zhifu.cli import main

from .conftest import FIXTURES

ZHIFU = Path(sys.executable).parent / "zhifu"
SANDBOX_CERT = FIXTURES / "yansongda" / "alipayPublicCert.crt"
REAL = json.loads((FIXTURES / "yansongda" / "sandbox_2023.json").read_text(encoding="utf-8"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert ZHIFU.exists(), f"{ZHIFU} is not installed (pip install -e .)"
    return subprocess.run(
        [str(ZHIFU), *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zhifu: error:") or lines[0].startswith("zhifu: interrupted")


# -- keygen -------------------------------------------------------------------------------------


def test_keygen_writes_a_2048_bit_pair_and_prints_the_console_line(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "nested"
    result = run("keygen", "--out", str(out))
    assert result.returncode == 0, result.stderr
    private_path, public_path = out / "app_private_key.pem", out / "app_public_key.pem"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    private = load_private_key(private_path)
    public = load_public_key(public_path)
    assert private.key_size == 2048
    assert private.public_key().public_numbers() == public.public_numbers()
    printed = result.stdout.strip().splitlines()[-1]
    assert load_public_key(printed).public_numbers() == public.public_numbers()
    assert "-----" not in printed and " " not in printed


def test_keygen_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    assert run("keygen", "--out", str(tmp_path)).returncode == 0
    before = (tmp_path / "app_private_key.pem").read_text()
    refused = run("keygen", "--out", str(tmp_path))
    assert refused.returncode == 1
    assert_one_line_error(refused)
    assert "--force" in refused.stderr
    assert (tmp_path / "app_private_key.pem").read_text() == before
    (tmp_path / "app_private_key.pem").chmod(0o644)
    forced = run("keygen", "--out", str(tmp_path), "--force")
    assert forced.returncode == 0
    assert (tmp_path / "app_private_key.pem").read_text() != before
    assert stat.S_IMODE((tmp_path / "app_private_key.pem").stat().st_mode) == 0o600


def test_keygen_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("keygen", "--out", str(blocker / "keys"))
    assert result.returncode == 1
    assert_one_line_error(result)


# -- alipay verify: real Alipay-signed data -----------------------------------------------------


def test_verify_real_return_url_from_argument() -> None:
    result = run(
        "alipay", "verify", "--alipay-public-key", str(SANDBOX_CERT), "--data", REAL["return_url"]
    )
    assert result.returncode == 0, result.stderr
    assert "signature OK" in result.stdout
    assert "app_id=9021000122682882&auth_app_id=9021000122682882&charset=utf-8" in result.stdout
    assert "sign_type=" not in result.stdout


def test_verify_real_notification_body_from_stdin() -> None:
    body = urlencode(REAL["notification"])
    result = run("alipay", "verify", "--alipay-public-key", str(SANDBOX_CERT), stdin=body)
    assert result.returncode == 0, result.stderr
    assert "subject=yansongda+测试 - 1" in result.stdout


def test_verify_bare_query_string_and_path_with_query() -> None:
    query = REAL["return_url"].split("?", 1)[1]
    for data in (query, "/alipay/return/?" + query, "?" + query):
        result = run("alipay", "verify", "--alipay-public-key", str(SANDBOX_CERT), "--data", data)
        assert result.returncode == 0, (data[:30], result.stderr)


def test_tampered_data_exits_1_and_shows_both_variants() -> None:
    body = urlencode({**REAL["notification"], "total_amount": "100.00"})
    result = run("alipay", "verify", "--alipay-public-key", str(SANDBOX_CERT), "--data", body)
    assert result.returncode == 1
    assert "documented: without sign and sign_type" in result.stdout
    assert "older variant: sign_type kept" in result.stdout
    assert "&sign_type=RSA2" in result.stdout
    assert result.stdout.count("signature does NOT match") == 2
    assert "Traceback" not in result.stderr


def test_older_variant_is_reported_when_it_is_the_one_that_holds(
    alipay_keys: KeyPair, tmp_path: Path
) -> None:
    from zhifu.alipay import notification_content

    params = {"a": "1", "sign_type": "RSA2"}
    params["sign"] = Signer(alipay_keys.private_pem).sign(
        notification_content(params, keep_sign_type=True)
    )
    key = tmp_path / "alipay_public_key.pem"
    key.write_text(alipay_keys.public_one_line)  # the console's one-line form in a file
    result = run("alipay", "verify", "--alipay-public-key", str(key), "--data", urlencode(params))
    assert result.returncode == 0
    assert "signature does NOT match" in result.stdout and "signature OK" in result.stdout
    assert result.stdout.index("NOT match") < result.stdout.index("older variant")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "no parameters found"),
        ("just some garbage", "no parameters found"),
        ("a=1&b=2", "no 'sign' parameter"),
        ("a=1&sign=", "no 'sign' parameter"),
        ("a=1&a=2&sign=abc", "appears 2 times"),
        ("a=1&sign=abc&sign_type=MD5", "unsupported sign_type"),
        ("a=1&sign=abc&charset=klingon", "unknown charset"),
    ],
)
def test_unusable_input_exits_2(data: str, message: str) -> None:
    result = run("alipay", "verify", "--alipay-public-key", str(SANDBOX_CERT), "--data", data)
    assert result.returncode == 2
    assert_one_line_error(result)
    assert message in result.stderr


def test_bad_key_files_exit_2(tmp_path: Path, app_keys: KeyPair) -> None:
    missing = run(
        "alipay", "verify", "--alipay-public-key", str(tmp_path / "no.pem"), "--data", "a=1&sign=x"
    )
    assert missing.returncode == 2
    assert_one_line_error(missing)
    assert "cannot read" in missing.stderr
    private = tmp_path / "private.pem"
    private.write_text(app_keys.private_pem)
    wrong = run("alipay", "verify", "--alipay-public-key", str(private), "--data", "a=1&sign=x")
    assert wrong.returncode == 2
    assert "private key" in wrong.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    assert (
        run(
            "alipay", "verify", "--alipay-public-key", str(garbage), "--data", "a=1&sign=x"
        ).returncode
        == 2
    )


def test_wrong_key_exits_1(other_keys: KeyPair, tmp_path: Path) -> None:
    key = tmp_path / "other.pem"
    key.write_text(other_keys.public_pem)
    result = run("alipay", "verify", "--alipay-public-key", str(key), "--data", REAL["return_url"])
    assert result.returncode == 1


def test_main_returns_status_without_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "alipay",
                "verify",
                "--alipay-public-key",
                str(SANDBOX_CERT),
                "--data",
                REAL["return_url"],
            ]
        )
        == 0
    )
    assert "signature OK" in capsys.readouterr().out
    assert main(["nonsense"]) == 2
    assert main(["alipay"]) == 2
    assert main(["--help"]) == 0


# -- sandbox ------------------------------------------------------------------------------------


def test_sandbox_passes_its_options_to_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import zhifu.sandbox.server as server

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(server, "serve", lambda *args: calls.append(args))
    data_dir = tmp_path / "sb"
    args = ["sandbox", "--host", "0.0.0.0", "--port", "9123", "--data-dir", str(data_dir)]
    assert main([*args, "--time-scale", "60", "--timestamp-skew", "0"]) == 0
    assert calls == [("0.0.0.0", 9123, data_dir, 60.0, 0.0)]
    calls.clear()
    assert main(["sandbox"]) == 0
    assert calls == [("127.0.0.1", 9000, Path("var/sandbox"), 1.0, 900.0)]


def test_sandbox_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import zhifu.sandbox.server as server

    def fail_to_start(*args: Any) -> None:
        raise SystemExit("zhifu sandbox: port 9000 is already in use")

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    def no_permission(*args: Any) -> None:
        raise PermissionError(13, "Permission denied", "var/sandbox")

    monkeypatch.setattr(server, "serve", fail_to_start)
    assert main(["sandbox"]) == 1
    assert capsys.readouterr().err.strip() == "zhifu: error: port 9000 is already in use"
    monkeypatch.setattr(server, "serve", interrupted)
    assert main(["sandbox"]) == 130
    monkeypatch.setattr(server, "serve", no_permission)
    assert main(["sandbox"]) == 1
    assert capsys.readouterr().err.strip().endswith("Permission denied: var/sandbox")


@pytest.mark.parametrize(
    "args",
    [
        ["--time-scale", "0"],
        ["--time-scale", "-1"],
        ["--time-scale", "nan"],
        ["--timestamp-skew", "-1"],
        ["--timestamp-skew", "inf"],
        ["--port", "70000"],
        ["--port", "x"],
    ],
)
def test_sandbox_bad_options(args: list[str]) -> None:
    result = run("sandbox", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


# -- keygen --wechatpay and wechatpay verify ----------------------------------------------------

WX_APIV3_KEY = "a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"
WX_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000000001"


def test_keygen_wechatpay_makes_key_certificate_and_apiv3_key(tmp_path: Path) -> None:
    from zhifu.wechatpay import certificate_serial, load_apiv3_key, load_certificate
    from zhifu.wechatpay import load_private_key as wx_private_key

    result = run("keygen", "--out", str(tmp_path), "--wechatpay", "--mchid", "1900000109")
    assert result.returncode == 0, result.stderr
    key_path, cert_path = tmp_path / "apiclient_key.pem", tmp_path / "apiclient_cert.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "apiv3_key").stat().st_mode) == 0o600
    assert key_path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    cert = load_certificate(cert_path)
    key = wx_private_key(key_path)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert "CN=1900000109" in cert.subject.rfc4514_string()
    assert result.stdout.strip().splitlines()[-1] == certificate_serial(cert)
    assert len(load_apiv3_key((tmp_path / "apiv3_key").read_text())) == 32
    refused = run("keygen", "--out", str(tmp_path), "--wechatpay")
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert_one_line_error(refused)


def _wx_notification(wechat: KeyPair, tmp_path: Path, **header_changes: str) -> Path:
    """A captured notification request, signed with ``wechat``'s key, written to a file."""
    from zhifu.wechatpay import build_notification, response_headers
    from zhifu.wechatpay import load_private_key as wx_private_key

    resource = {
        "mchid": "1900000109",
        "out_trade_no": "ZF20261202CLI1",
        "trade_state": "SUCCESS",
        "amount": {"total": 1230, "currency": "CNY"},
    }
    body = build_notification(WX_APIV3_KEY.encode(), "TRANSACTION.SUCCESS", resource)
    headers = response_headers(wx_private_key(wechat.private_pem), WX_KEY_ID, body)
    headers.update(header_changes)
    head = "POST /wechatpay/notify/ HTTP/1.1\r\nHost: shop.example.com\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    path = tmp_path / "notification.http"
    path.write_bytes(head.encode() + b"\r\n" + body)
    return path


def _wx_keys(wechat: KeyPair, tmp_path: Path) -> list[str]:
    (tmp_path / "pub_key.pem").write_text(wechat.public_pem)
    (tmp_path / "apiv3").write_text(WX_APIV3_KEY)
    return [
        "--public-key",
        str(tmp_path / "pub_key.pem"),
        "--public-key-id",
        WX_KEY_ID,
        "--apiv3-key-file",
        str(tmp_path / "apiv3"),
    ]


def test_wechatpay_verify_captured_request_shows_key_and_resource(
    alipay_keys: KeyPair, tmp_path: Path
) -> None:
    capture = _wx_notification(alipay_keys, tmp_path)
    result = run("wechatpay", "verify", *_wx_keys(alipay_keys, tmp_path), "--request", str(capture))
    assert result.returncode == 0, result.stderr
    assert f"signature OK, key: WeChat Pay public key {WX_KEY_ID}" in result.stdout
    assert "event: TRANSACTION.SUCCESS" in result.stdout
    assert '"out_trade_no": "ZF20261202CLI1"' in result.stdout
    assert "+08:00" in result.stdout  # the signing time, in Beijing time


def test_wechatpay_verify_refuses_tampering_probes_and_stale_captures(
    alipay_keys: KeyPair, tmp_path: Path
) -> None:
    keys = _wx_keys(alipay_keys, tmp_path)
    capture = _wx_notification(alipay_keys, tmp_path)
    capture.write_bytes(
        capture.read_bytes().replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESS "')
    )
    tampered = run("wechatpay", "verify", *keys, "--request", str(capture))
    assert tampered.returncode == 1 and "does NOT hold" in tampered.stdout
    probe = _wx_notification(alipay_keys, tmp_path)
    text = probe.read_text().replace(
        "Wechatpay-Signature: ", "Wechatpay-Signature: WECHATPAY/SIGNTEST/"
    )
    probe.write_text(text)
    refused = run("wechatpay", "verify", *keys, "--request", str(probe))
    assert refused.returncode == 1 and "SIGNTEST" in refused.stdout
    stale = _wx_notification(alipay_keys, tmp_path, **{"Wechatpay-Timestamp": "1700000000"})
    old = run("wechatpay", "verify", *keys, "--request", str(stale))
    assert old.returncode == 1 and "300 s" in old.stdout
    # The timestamp changed without re-signing: even ignoring the window it does not hold.
    assert run("wechatpay", "verify", *keys, "--request", str(stale), "--any-time").returncode == 1


def test_wechatpay_verify_headers_and_body_files_with_a_platform_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The official Go SDK's notification (tests/wechatpay/test_verification.py), captured in 2021.
    from tests.wechatpay.vectors import GO_BODY, GO_CERTIFICATE, GO_HEADERS

    (tmp_path / "cert.pem").write_text(GO_CERTIFICATE)
    (tmp_path / "headers.json").write_text(json.dumps(GO_HEADERS))
    (tmp_path / "body").write_bytes(GO_BODY)
    args = [
        "wechatpay",
        "verify",
        "--platform-cert",
        str(tmp_path / "cert.pem"),
        "--headers",
        str(tmp_path / "headers.json"),
        "--body",
        str(tmp_path / "body"),
    ]
    assert main(args) == 1  # live rules: signed in 2021, far outside 300 s
    assert "300 s" in capsys.readouterr().out
    assert main([*args, "--any-time"]) == 0
    out = capsys.readouterr().out
    assert "key: platform certificate D7CE59D1F522D701" in out
    assert "resource not decrypted" in out
    # A capture that gained a trailing newline is explained, not just refused.
    (tmp_path / "body").write_bytes(GO_BODY + b"\n")
    assert main([*args, "--any-time"]) == 1
    assert "without the trailing newline" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["KEYS", "--request", "/no/such/capture.http"], "No such file"),
        (["--headers", "h"], "give --request FILE"),
        (["--public-key-id", WX_KEY_ID, "--request", "x"], "together"),
        (["--request", "x"], "no WeChat Pay key"),
    ],
)
def test_wechatpay_verify_unusable_input_exits_2(
    args: list[str],
    message: str,
    alipay_keys: KeyPair,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if args[0] == "KEYS":
        args = _wx_keys(alipay_keys, tmp_path) + args[1:]
    assert main(["wechatpay", "verify", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_wechatpay_verify_bad_capture_and_apiv3_key_exit_2(
    alipay_keys: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = _wx_keys(alipay_keys, tmp_path)
    (tmp_path / "garbage").write_bytes(b"no blank line here")
    assert main(["wechatpay", "verify", *keys, "--request", str(tmp_path / "garbage")]) == 2
    assert "no blank line" in capsys.readouterr().err
    (tmp_path / "apiv3").write_text("short")
    capture = _wx_notification(alipay_keys, tmp_path)
    assert main(["wechatpay", "verify", *keys, "--request", str(capture)]) == 2
    assert "APIv3 key: 5 characters" in capsys.readouterr().err
