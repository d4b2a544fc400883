"""`zhifu doctor` over generated key kits: what each file is, whose it is, the pairs, serials and
SNs, expiry, exit codes, and a settings block that passes the site's system checks.

Everything runs the real command (`zhifu.cli.main`, and once the installed console script) over
files written the way merchants have them; the SNs are checked against `zhifu.alipay.certs` and
the real fzlee fixtures' published values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from zhifu.alipay import cert_sn, root_cert_sn
from zhifu.alipay.keys import one_line
from zhifu.cli import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, main
from zhifu.sandbox.certificates import ROOT_NAME, issue_certificate, make_root_bundle
from zhifu.wechatpay import generate_merchant_certificate

ZHIFU = Path(sys.executable).parent / "zhifu"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
APP_ID = "2021000000000001"
SELLER_ID = "2088000000000009"
MCHID = "1900000109"
WX_APPID = "wxd678efh567hg6787"
PUB_KEY_ID = "PUB_KEY_ID_0112345678901234567890123456789012"
APIV3_KEY = "a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4"
SITE = "https://shop.example.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pkcs1(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def spki(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def certificate(
    key: rsa.RSAPrivateKey,
    common_name: str,
    *,
    issuer_key: rsa.RSAPrivateKey,
    issuer: x509.Name = ROOT_NAME,
    not_before: datetime,
    not_after: datetime,
) -> str:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test merchant"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Alipay"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Keys:
    app: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey
    root: rsa.RSAPrivateKey
    merchant: rsa.RSAPrivateKey
    wechat: rsa.RSAPrivateKey
    platform: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(*(new_key() for _ in range(7)))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def alipay_kit(folder: Path, keys: Keys, *, certificates: bool = True) -> Path:
    """What an Alipay merchant has: app key pair, Alipay's public key and the three certs."""
    write(folder / "app_private_key.pem", pkcs8(keys.app))
    write(folder / "app_public_key.pem", spki(keys.app))
    write(folder / "alipay_public_key.pem", spki(keys.alipay))
    if certificates:
        write(folder / "alipayRootCert.crt", make_root_bundle(keys.root))
        write(
            folder / f"appCertPublicKey_{APP_ID}.crt",
            issue_certificate(keys.root, keys.app.public_key(), APP_ID, "Test merchant"),
        )
        write(
            folder / "alipayCertPublicKey_RSA2.crt",
            issue_certificate(
                keys.root, keys.alipay.public_key(), "支付宝(中国)网络技术有限公司", "Alipay"
            ),
        )
    return folder


def wechat_kit(folder: Path, keys: Keys, *, platform: bool = False) -> Path:
    """What a WeChat Pay merchant has: apiclient_key/cert, pub_key.pem and its id, APIv3 key."""
    made = generate_merchant_certificate(MCHID, private_key=keys.merchant)
    write(folder / "apiclient_key.pem", made.private_pem)
    write(folder / "apiclient_cert.pem", made.certificate_pem)
    write(folder / "pub_key.pem", spki(keys.wechat))
    write(folder / "pub_key_id.txt", PUB_KEY_ID + "\n")
    write(folder / "apiv3_key", APIV3_KEY + "\n")
    if platform:
        cert = generate_merchant_certificate("Tenpay.com sign", private_key=keys.platform)
        write(folder / "platform_certs" / f"{cert.serial}.pem", cert.certificate_pem)
    return folder


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["doctor", "--json", *args])
    out = capsys.readouterr().out
    return status, json.loads(out)


def roles(report: dict[str, Any]) -> dict[str, str]:
    return {Path(f["path"]).name: f["role"] for f in report["files"]}


def codes(report: dict[str, Any], severity: str | None = None) -> set[str]:
    return {f["code"] for f in report["findings"] if severity is None or f["severity"] == severity}


IDENTITY = [
    "--app-id",
    APP_ID,
    "--seller-id",
    SELLER_ID,
    "--mchid",
    MCHID,
    "--wechatpay-appid",
    WX_APPID,
    "--site-url",
    SITE,
]


# -- what each file is ----------------------------------------------------------------------------


def test_every_kind_of_file_is_identified_with_its_serials(tmp_path, keys, capsys):
    alipay_kit(tmp_path / "alipay", keys)
    wechat_kit(tmp_path / "wechatpay", keys, platform=True)
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)

    assert roles(report) == {
        "app_private_key.pem": "alipay_app_private_key",
        "app_public_key.pem": "alipay_app_public_key",
        "alipay_public_key.pem": "alipay_public_key",
        "alipayRootCert.crt": "alipay_root_cert",
        f"appCertPublicKey_{APP_ID}.crt": "alipay_app_cert",
        "alipayCertPublicKey_RSA2.crt": "alipay_public_cert",
        "apiclient_key.pem": "wechatpay_merchant_key",
        "apiclient_cert.pem": "wechatpay_merchant_cert",
        "pub_key.pem": "wechatpay_public_key",
        "pub_key_id.txt": "wechatpay_public_key_id",
        "apiv3_key": "wechatpay_apiv3_key",
        next(p.name for p in (tmp_path / "wechatpay/platform_certs").iterdir()): (
            "wechatpay_platform_cert"
        ),
    }
    alipay = tmp_path / "alipay"
    assert report["alipay"]["mode"].startswith("certificate")
    assert report["alipay"]["app_cert_sn"] == cert_sn(alipay / f"appCertPublicKey_{APP_ID}.crt")
    assert report["alipay"]["alipay_cert_sn"] == cert_sn(alipay / "alipayCertPublicKey_RSA2.crt")
    assert report["alipay"]["alipay_root_cert_sn"] == root_cert_sn(alipay / "alipayRootCert.crt")
    assert "_" not in report["alipay"]["alipay_root_cert_sn"]  # the ECDSA root is skipped
    merchant_cert = x509.load_pem_x509_certificate(
        (tmp_path / "wechatpay/apiclient_cert.pem").read_bytes()
    )
    assert report["wechatpay"]["merchant_serial"] == f"{merchant_cert.serial_number:X}"
    assert report["wechatpay"]["public_key_id"] == PUB_KEY_ID
    assert report["wechatpay"]["mode"].startswith("migration")
    assert report["wechatpay"]["platform_certificates"][0]["serial"].isupper()
    # both modes given for Alipay: an info, not an error; nothing else to say
    assert codes(report, "error") == set()
    assert codes(report, "warning") == set()
    assert status == EXIT_OK


def test_the_real_fzlee_certificates_give_the_published_sns_and_are_expired(capsys):
    status, report = doctor(capsys, *map(str, sorted((FIXTURES / "fzlee").iterdir())))
    assert report["alipay"]["app_cert_sn"] == "75852781c31e6a29e6551915a592dcb3"
    assert report["alipay"]["alipay_cert_sn"] == "abe4af5e686f52544fcd9d5592fce1f3"
    assert report["alipay"]["alipay_root_cert_sn"] == "6bc29aa3b4d406c43483ffea81e08d22"
    # the app cert's CN is "<PID>-<app id>": both come from the certificate
    assert report["alipay"]["app_id"] == "2016101300678256"
    assert report["alipay"]["seller_id"] == "2088102179417464"
    assert "alipaydev.com" in report["alipay"]["gateway"]  # a sandbox ("test") certificate
    assert "cert.expired" in codes(report, "error")  # both certificates ended in 2022
    assert "alipay.app_cert_mismatch" not in codes(report)  # the PKCS#1 key is the cert's key
    assert status == EXIT_FAILED


def test_the_production_root_bundle_gives_alipays_published_sn(capsys):
    _, report = doctor(capsys, str(FIXTURES / "yansongda/alipayRootCert.crt"))
    assert roles(report) == {"alipayRootCert.crt": "alipay_root_cert"}
    assert (
        report["alipay"]["alipay_root_cert_sn"]
        == "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    )


def test_sandbox_certificates_with_the_production_root_are_caught(tmp_path, capsys):
    for path in (FIXTURES / "fzlee").iterdir():
        if path.name != "alipay_root_cert.crt":
            write(tmp_path / path.name, path.read_text())
    write(tmp_path / "alipayRootCert.crt", (FIXTURES / "yansongda/alipayRootCert.crt").read_text())
    _, report = doctor(capsys, "--dir", str(tmp_path))
    assert "alipay.mixed_environments" in codes(report, "error")
    (tmp_path / "alipayRootCert.crt").write_text(
        (FIXTURES / "fzlee/alipay_root_cert.crt").read_text()
    )
    _, report = doctor(capsys, "--dir", str(tmp_path))
    assert "alipay.mixed_environments" not in codes(report)


# -- key forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "form"),
    [
        (pkcs8, "PKCS#8 PEM"),
        (pkcs1, "PKCS#1 PEM"),
        (lambda k: one_line(pkcs8(k)), "PKCS#8 one-line base64"),
        (lambda k: one_line(pkcs1(k)), "PKCS#1 one-line base64"),
    ],
    ids=["pkcs8-pem", "pkcs1-pem", "pkcs8-one-line", "pkcs1-one-line"],
)
def test_private_keys_in_every_form_are_read_and_paired(tmp_path, keys, capsys, writer, form):
    write(tmp_path / "应用私钥RSA2048.txt", writer(keys.app))
    write(tmp_path / "应用公钥RSA2048.txt", one_line(spki(keys.app)))
    write(tmp_path / "alipay_public_key.txt", one_line(spki(keys.alipay)))
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    private = by_name["应用私钥RSA2048.txt"]
    assert (private["role"], private["form"]) == ("alipay_app_private_key", form)
    assert by_name["应用公钥RSA2048.txt"]["form"] == "SubjectPublicKeyInfo one-line base64"
    assert by_name["应用公钥RSA2048.txt"]["role"] == "alipay_app_public_key"
    assert "matches" in report["alipay"]["app_key_pair"]
    assert ("key.pkcs1" in codes(report, "info")) == form.startswith("PKCS#1")
    assert ("key.one_line" in codes(report, "info")) == ("one-line" in form)
    assert status == EXIT_OK


def test_an_encrypted_or_weak_key_is_an_error_with_a_fix(tmp_path, keys, capsys):
    encrypted = keys.app.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    write(tmp_path / "app_private_key.pem", encrypted)
    write(tmp_path / "alipay_public_key.pem", spki(keys.alipay))
    status, report = doctor(capsys, "--dir", str(tmp_path))
    (finding,) = [f for f in report["findings"] if f["code"] == "file.unusable_key"]
    assert "encrypted" in finding["message"] and "openssl pkey" in finding["fix"]
    assert status == EXIT_FAILED

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    write(tmp_path / "app_private_key.pem", pkcs8(weak))
    status, report = doctor(capsys, "--dir", str(tmp_path))
    (finding,) = [f for f in report["findings"] if f["code"] == "file.unusable_key"]
    assert "1024" in finding["message"] and "zhifu keygen" in finding["fix"]
    assert status == EXIT_FAILED


# -- whose key is it --------------------------------------------------------------------------------


def test_a_mismatched_app_key_pair_is_an_error(tmp_path, keys, capsys):
    alipay_kit(tmp_path, keys, certificates=False)
    write(tmp_path / "app_public_key.pem", spki(keys.other))  # uploaded another key
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    (finding,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert finding["code"] == "alipay.app_key_mismatch"
    assert finding["fix"] and "\n" not in finding["fix"]
    assert status == EXIT_FAILED


def test_an_app_certificate_for_another_key_is_an_error(tmp_path, keys, capsys):
    alipay_kit(tmp_path, keys)
    write(
        tmp_path / f"appCertPublicKey_{APP_ID}.crt",
        issue_certificate(keys.root, keys.other.public_key(), APP_ID, "Test merchant"),
    )
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert codes(report, "error") == {"alipay.app_cert_mismatch"}
    assert status == EXIT_FAILED


def test_the_apps_own_public_key_used_as_alipays_is_caught(tmp_path, keys, capsys):
    write(tmp_path / "app_private_key.pem", pkcs8(keys.app))
    write(tmp_path / "alipay_public_key.pem", spki(keys.app))  # the classic mistake
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert codes(report, "error") == {"alipay.public_key_is_app_key"}
    (finding,) = [f for f in report["findings"] if f["code"] == "alipay.public_key_is_app_key"]
    assert "支付宝公钥" in finding["fix"]
    assert status == EXIT_FAILED


def test_the_mistake_is_caught_whatever_the_file_is_called(tmp_path, keys, capsys):
    write(tmp_path / "private.pem", pkcs8(keys.app))
    write(tmp_path / "key.txt", one_line(spki(keys.app)))
    status, report = doctor(
        capsys,
        str(tmp_path / "private.pem"),
        "--alipay-public-key",
        str(tmp_path / "key.txt"),
        *IDENTITY,
    )
    assert roles(report)["key.txt"] == "alipay_public_key"
    assert "alipay.public_key_is_app_key" in codes(report, "error")
    assert status == EXIT_FAILED
    # without saying whose it is, the same key is simply the app's public key
    status, report = doctor(
        capsys, str(tmp_path / "private.pem"), str(tmp_path / "key.txt"), *IDENTITY
    )
    assert roles(report)["key.txt"] == "alipay_app_public_key"
    assert "alipay.no_alipay_key" in codes(report, "error")


def test_the_apps_certificate_used_as_alipays_is_caught(tmp_path, keys, capsys):
    alipay_kit(tmp_path, keys)
    (tmp_path / "alipayCertPublicKey_RSA2.crt").write_text(
        (tmp_path / f"appCertPublicKey_{APP_ID}.crt").read_text()
    )
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert "alipay.public_cert_is_app_cert" in codes(report, "error")
    assert status == EXIT_FAILED


# -- expiry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends_in", "code", "status"),
    [
        (timedelta(days=-1), "cert.expired", EXIT_FAILED),
        (timedelta(days=10), "cert.expiring", EXIT_OK),
        (timedelta(days=400), None, EXIT_OK),
    ],
    ids=["expired", "expiring", "valid"],
)
def test_certificate_expiry(tmp_path, keys, capsys, ends_in, code, status):
    alipay_kit(tmp_path, keys)
    now = datetime.now(UTC)
    write(
        tmp_path / f"appCertPublicKey_{APP_ID}.crt",
        certificate(
            keys.app,
            APP_ID,
            issuer_key=keys.root,
            not_before=now - timedelta(days=365),
            not_after=now + ends_in,
        ),
    )
    got, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    found = {f["code"]: f for f in report["findings"] if f["code"].startswith("cert.")}
    if code is None:
        assert found == {}
    else:
        assert set(found) == {code}
        assert f"appCertPublicKey_{APP_ID}.crt" in found[code]["message"]
        assert "appCertPublicKey" in found[code]["fix"]
    assert got == status


# -- WeChat Pay -------------------------------------------------------------------------------------


def test_wechat_merchant_key_and_certificate_that_do_not_match(tmp_path, keys, capsys):
    wechat_kit(tmp_path, keys)
    other = generate_merchant_certificate(MCHID, private_key=keys.other)
    write(tmp_path / "apiclient_cert.pem", other.certificate_pem)
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert codes(report, "error") == {"wechatpay.merchant_cert_mismatch"}
    assert status == EXIT_FAILED


@pytest.mark.parametrize("value", ["tooshort", APIV3_KEY + "X", "ä" * 32])
def test_an_apiv3_key_of_the_wrong_length_is_an_error_and_never_printed(
    tmp_path, keys, capsys, value
):
    wechat_kit(tmp_path, keys)
    write(tmp_path / "apiv3_key", value)
    status = main(["doctor", "--dir", str(tmp_path), *IDENTITY])
    text = capsys.readouterr().out
    assert "wechatpay.apiv3_key_invalid" in text
    assert value not in text
    assert status == EXIT_FAILED


def test_the_merchants_own_public_key_as_wechats_is_caught(tmp_path, keys, capsys):
    wechat_kit(tmp_path, keys)
    write(tmp_path / "pub_key.pem", spki(keys.merchant))
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert codes(report, "error") == {"wechatpay.public_key_is_merchant_key"}
    assert status == EXIT_FAILED


def test_a_wechat_public_key_without_its_id(tmp_path, keys, capsys):
    wechat_kit(tmp_path, keys)
    (tmp_path / "pub_key_id.txt").unlink()
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert codes(report, "error") == {"wechatpay.no_public_key_id"}
    status, report = doctor(
        capsys, "--dir", str(tmp_path), *IDENTITY, "--public-key-id", PUB_KEY_ID
    )
    assert report["wechatpay"]["public_key_id"] == PUB_KEY_ID
    assert status == EXIT_OK


def test_platform_certificates_beside_other_pem_files_are_flagged(tmp_path, keys, capsys):
    wechat_kit(tmp_path, keys)
    cert = generate_merchant_certificate("Tenpay.com sign", private_key=keys.platform)
    write(tmp_path / f"{cert.serial}.pem", cert.certificate_pem)  # beside apiclient_*.pem
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert "wechatpay.platform_folder_shared" in codes(report, "warning")
    assert status == EXIT_OK


# -- secrets, exit codes ----------------------------------------------------------------------------


def test_no_secret_is_ever_printed(tmp_path, keys, capsys):
    alipay_kit(tmp_path / "a", keys)
    wechat_kit(tmp_path / "w", keys)
    secrets = [
        one_line(pkcs8(keys.app))[40:120],
        one_line(pkcs8(keys.merchant))[40:120],
        APIV3_KEY,
    ]
    for extra in ([], ["--json"]):
        main(["doctor", "--dir", str(tmp_path), *IDENTITY, *extra])
        out = capsys.readouterr().out
        assert str((tmp_path / "a/app_private_key.pem").resolve()) in out.replace("\\\\", "\\")
        for secret in secrets:
            assert secret not in out


def test_every_finding_has_a_one_line_fix(tmp_path, keys, capsys):
    alipay_kit(tmp_path / "a", keys)
    write(tmp_path / "a/alipay_public_key.pem", spki(keys.app))
    write(tmp_path / "a/app_public_key.pem", spki(keys.other))
    wechat_kit(tmp_path / "w", keys)
    write(tmp_path / "w/apiv3_key", "short")
    write(tmp_path / "w/pub_key.pem", spki(keys.merchant))
    (tmp_path / "w/pub_key_id.txt").unlink()
    for fixture in ("fzlee", "yansongda"):
        for path in (FIXTURES / fixture).glob("*.crt"):
            write(tmp_path / fixture / path.name, path.read_text())
    status, report = doctor(capsys, "--dir", str(tmp_path))
    assert len(report["findings"]) >= 10
    for finding in report["findings"]:
        assert finding["fix"].strip() and "\n" not in finding["fix"], finding
        assert finding["message"].strip() and "\n" not in finding["message"], finding
    assert status == EXIT_FAILED


def test_unusable_input_exits_2(tmp_path, keys, capsys):
    assert main(["doctor"]) == EXIT_UNUSABLE
    assert main(["doctor", str(tmp_path / "missing.pem")]) == EXIT_UNUSABLE
    assert "file.missing" in capsys.readouterr().out
    garbage = write(tmp_path / "notes.txt", "line one\nline two\nline three\n")
    write(tmp_path / "app_private_key.pem", pkcs8(keys.app))
    status, report = doctor(capsys, str(garbage), str(tmp_path / "app_private_key.pem"))
    assert codes(report, "unusable") == {"file.unknown"}
    assert report["settings"] == ""
    assert status == EXIT_UNUSABLE
    der = tmp_path / "apiclient_cert.der"
    der.write_bytes(
        x509.load_pem_x509_certificate(
            generate_merchant_certificate(MCHID).certificate_pem.encode()
        ).public_bytes(serialization.Encoding.DER)
    )
    status, report = doctor(capsys, str(der))
    (finding,) = report["findings"]
    assert "DER" in finding["message"] and "openssl x509 -inform der" in finding["message"]
    assert status == EXIT_UNUSABLE
    der.unlink()
    # the same file met in a folder is skipped, not fatal
    status, report = doctor(capsys, "--dir", str(tmp_path))
    assert [Path(s["path"]).name for s in report["skipped"]] == ["notes.txt"]
    assert status == EXIT_FAILED  # no Alipay public key: an error, but the input was usable
    assert main(["doctor", "--dir", str(tmp_path), "--site-url", "shop"]) == EXIT_UNUSABLE


def test_the_installed_command_reports_and_exits_for_ci(tmp_path, keys):
    write(tmp_path / "app_private_key.pem", pkcs1(keys.app))
    write(tmp_path / "alipay_public_key.pem", spki(keys.app))
    done = subprocess.run(
        [str(ZHIFU), "doctor", "--dir", str(tmp_path), *IDENTITY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_FAILED, done.stderr
    assert "alipay.public_key_is_app_key" in done.stdout
    assert "fix: copy 支付宝公钥" in done.stdout
    assert "ZHIFU = {" in done.stdout
    assert done.stderr == ""


def test_the_doctor_runs_without_django(tmp_path, keys):
    alipay_kit(tmp_path, keys, certificates=True)
    code = (
        "import sys; from zhifu.cli import main; "
        f"status = main(['doctor', '--dir', {str(tmp_path)!r}]); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'; "
        "sys.exit(status)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(Path(sys.executable).parent)},
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "alipay_root_cert_sn" in done.stdout


# -- the settings block -----------------------------------------------------------------------------


def block_of(report: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(report["settings"], "<zhifu doctor settings>", "exec"), namespace)
    return namespace["ZHIFU"]


@pytest.mark.parametrize(
    ("alipay", "wechat"),
    [("key", "public-key"), ("certificates", "migration"), ("key", None), (None, "public-key")],
    ids=["alipay-key+wechat", "alipay-certificates+wechat-migration", "alipay-only", "wechat-only"],
)
def test_the_settings_block_passes_the_sites_system_checks(
    tmp_path, keys, capsys, settings, alipay, wechat
):
    from zhifu.checks import check_zhifu_settings
    from zhifu.conf import DEFAULTS

    if alipay:
        alipay_kit(tmp_path / "alipay", keys, certificates=alipay == "certificates")
    if wechat:
        wechat_kit(tmp_path / "wechatpay", keys, platform=wechat == "migration")
    status, report = doctor(capsys, "--dir", str(tmp_path), *IDENTITY)
    assert status == EXIT_OK
    zhifu = block_of(report)
    if wechat:
        assert zhifu["WECHATPAY"]["APIV3_KEY"] == APIV3_KEY  # read from its file at load time
        assert APIV3_KEY not in report["settings"]
        assert "zhifu.providers.wechatpay.WechatPayProvider" in zhifu["PROVIDERS"]
    else:
        assert "WECHATPAY" not in zhifu and "PROVIDERS" not in zhifu  # the default providers
    if alipay:
        private = tmp_path / "alipay/app_private_key.pem"
        assert zhifu["APP_PRIVATE_KEY"] == str(private.resolve())
        assert ("APP_CERT" in zhifu) is (alipay == "certificates")
    else:
        assert "APP_PRIVATE_KEY" not in zhifu
        assert "zhifu.providers.alipay.AlipayProvider" not in zhifu["PROVIDERS"]
    settings.ZHIFU = zhifu
    assert check_zhifu_settings() == []
    assert set(zhifu) <= set(DEFAULTS)


def test_a_local_sandboxs_data_folder_gives_a_block_for_that_sandbox(tmp_path, capsys, settings):
    """``zhifu doctor --dir var/sandbox``: the ids and gateway URLs come from the sandbox's
    ``sandbox.json`` (the key files cannot tell them), so the block works as it is."""
    from zhifu.checks import check_zhifu_settings
    from zhifu.sandbox.testing import SandboxServer

    with SandboxServer(tmp_path / "sandbox") as server:
        info, wx = server.info, server.wechat_info
        gateway_url, base_url = server.gateway_url, server.url
        status, report = doctor(
            capsys, "--dir", str(tmp_path / "sandbox"), "--site-url", "https://shop.example.com"
        )
    assert status == EXIT_OK, report["findings"]
    zhifu = block_of(report)
    assert zhifu["APP_ID"] == info["app_id"] and zhifu["SELLER_ID"] == info["seller_id"]
    assert zhifu["GATEWAY_URL"] == gateway_url
    assert zhifu["WECHATPAY"]["GATEWAY_URL"] == base_url
    assert zhifu["WECHATPAY"]["MCHID"] == wx["mchid"]
    assert zhifu["WECHATPAY"]["PUBLIC_KEY_ID"] == wx["wechatpay_public_key_id"]
    assert not [f for f in report["findings"] if f["severity"] != "info"]
    settings.ZHIFU = zhifu
    assert check_zhifu_settings() == []


def test_a_settings_block_with_gaps_is_caught_by_the_checks(tmp_path, keys, capsys, settings):
    from zhifu.checks import check_zhifu_settings

    alipay_kit(tmp_path, keys, certificates=False)
    status, report = doctor(capsys, "--dir", str(tmp_path))  # no app id, PID or site URL
    assert {"alipay.app_id_unknown", "alipay.seller_id_unknown"} <= codes(report, "warning")
    assert status == EXIT_OK
    settings.ZHIFU = block_of(report)
    assert {"zhifu.E002", "zhifu.E009", "zhifu.E015"} <= {m.id for m in check_zhifu_settings()}


# -- the docs ---------------------------------------------------------------------------------------


def test_every_finding_code_is_explained_on_the_troubleshooting_page_in_both_languages():
    import re

    source = "".join(
        p.read_text(encoding="utf-8")
        for p in (Path(__file__).resolve().parents[2] / "src/zhifu/doctor").glob("*.py")
    )
    found = set(re.findall(r'"((?:file|alipay|wechatpay|cert|key|doctor)\.[a-z0-9_]+)"', source))
    assert {"alipay.public_key_is_app_key", "cert.expired", "file.unknown"} <= found
    docs = Path(__file__).resolve().parents[2] / "docs"
    for page in ("troubleshooting.en.md", "troubleshooting.zh.md"):
        text = (docs / page).read_text(encoding="utf-8")
        missing = sorted(code for code in found if f"`{code}`" not in text)
        assert not missing, f"doctor codes not explained in docs/{page}: {missing}"
