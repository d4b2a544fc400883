"""`zhifu probe` over real HTTP: against Zhifu's own notify endpoints served by a live Django
server configured against a real sandbox (with the sandbox's keys), against endpoints that are
wrong on purpose (tests/probe/urls.py), and against nothing at all."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest

from tests.core.factories import make_order
from zhifu import cli
from zhifu.conf import DEFAULTS
from zhifu.models import Notification, Order, PaymentAttempt
from zhifu.probe import checks, report
from zhifu.probe.checks import AlipayKit, Endpoint
from zhifu.probe.keys import KeyOptions, alipay_party
from zhifu.services.payments import start_payment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.probe.urls")]

WECHAT_PROVIDER = "zhifu.providers.wechatpay.WechatPayProvider"
NOTIFY = {"alipay": "/zhifu/alipay/notify/", "wechatpay": "/zhifu/wechatpay/notify/"}
CHANNEL = {"alipay": "alipay_page", "wechatpay": "wechat_native"}


@pytest.fixture
def site(settings, sandbox_zhifu, live_server) -> str:
    """The test site selling with Alipay and WeChat Pay, both configured against the sandbox."""
    sandbox_zhifu.wechat_mode("public_key")
    settings.ZHIFU = {
        **settings.ZHIFU,
        "PROVIDERS": [*DEFAULTS["PROVIDERS"], WECHAT_PROVIDER],
        "WECHATPAY": sandbox_zhifu.wechatpay_settings(live_server.url + NOTIFY["wechatpay"]),
    }
    return str(live_server.url)


def probe(capsys, *args: str) -> tuple[int, dict]:
    status = cli.main(["probe", *args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


def by_name(result: dict) -> dict[str, dict]:
    (endpoint,) = result["endpoints"]
    return {c["name"]: c for c in endpoint["checks"]}


def snapshot() -> list[tuple]:
    orders = list(Order.objects.order_by("pk").values_list("pk", "status", "paid_at"))
    attempts = list(PaymentAttempt.objects.order_by("pk").values_list("pk", "status", "trade_no"))
    return orders + attempts


@pytest.mark.parametrize("provider", ["alipay", "wechatpay"])
def test_zhifu_refuses_everything_the_probe_sends_and_applies_nothing(
    provider, site, sandbox, user, capsys
):
    order = make_order(user)
    start_payment(order, CHANNEL[provider], user=user)  # a real pending payment beside the probe
    before = snapshot()

    status, result = probe(capsys, site + NOTIFY[provider], "--sandbox-dir", str(sandbox.data_dir))

    found = by_name(result)
    assert status == report.EXIT_OK, found
    expected = ["forged-signature", "unsigned", "malformed"]
    expected += ["signtest"] if provider == "wechatpay" else []
    expected += ["unknown-order", "concurrent-duplicates", "answer-time"]
    assert list(found) == expected
    assert {c["status"] for c in found.values()} == {"PASS"}
    assert "the sandbox's" in result["endpoints"][0]["signing"]
    # what Zhifu answers a refusal: Alipay "fail" (400), WeChat Pay 400 {"code": "FAIL", ...}
    for answer in found["unknown-order"]["answers"] + found["concurrent-duplicates"]["answers"]:
        assert answer["status"] == 400
        if provider == "alipay":
            assert answer["body"] == "fail"
        else:
            assert json.loads(answer["body"])["code"] == "FAIL"

    # Nothing changed; every message was stored and rejected, and the genuine-looking ones were
    # rejected for their order (their signature held), not for their signature.
    assert snapshot() == before
    stored = list(Notification.objects.filter(provider=provider).order_by("pk"))
    assert len(stored) == len(expected)  # a message per check but answer-time; twins: two
    assert {n.outcome for n in stored} == {Notification.Outcome.REJECTED}
    genuine = [n for n in stored if n.reason == "unknown_order"]
    assert len(genuine) == 3
    assert all(n.out_trade_no.startswith("ZHIFUPROBE") for n in genuine)
    twins = found["concurrent-duplicates"]["out_trade_no"]
    assert sorted(n.out_trade_no for n in genuine) == sorted(
        [found["unknown-order"]["out_trade_no"], twins, twins]
    )
    refused_for_signature = {n.reason for n in stored if n.reason != "unknown_order"}
    assert refused_for_signature <= {"bad_signature", "malformed"}, refused_for_signature
    if provider == "wechatpay":
        assert any(n.detail.startswith("signature probe") for n in stored)


def test_certificate_mode_signs_with_the_newest_platform_certificate(
    site, sandbox, settings, tmp_path, capsys
):
    """A merchant in platform-certificate mode: the site downloads WeChat's certificates from
    the sandbox and the probe signs as the newest one (the signature holds: unknown_order)."""
    sandbox.wechat_mode("certificate")
    try:
        wx = {k: v for k, v in settings.ZHIFU["WECHATPAY"].items() if "PUBLIC_KEY" not in k}
        settings.ZHIFU = {
            **settings.ZHIFU,
            "WECHATPAY": {**wx, "PLATFORM_CERT_DIR": str(tmp_path)},
        }
        status, result = probe(
            capsys, site + NOTIFY["wechatpay"], "--sandbox-dir", str(sandbox.data_dir)
        )
        newest = sandbox.wechat_info["platform_certificates"][-1]["serial_no"]
    finally:
        sandbox.wechat_mode("public_key")
    assert status == report.EXIT_OK, by_name(result)
    assert newest in result["endpoints"][0]["signing"]
    assert Notification.objects.filter(reason="unknown_order").count() == 3


@pytest.mark.parametrize("provider", ["alipay", "wechatpay"])
def test_explicit_key_files_instead_of_a_sandbox(provider, site, settings, tmp_path, capsys):
    """A site trusting keys of its own (no sandbox): the probe signs with the files given."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "gateway_private_key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    conf = dict(settings.ZHIFU)
    if provider == "alipay":
        conf["ALIPAY_PUBLIC_KEY"] = public_pem
        args = ["--alipay-private-key", str(key_file)]
        args += ["--app-id", conf["APP_ID"], "--seller-id", conf["SELLER_ID"]]
    else:
        key_id = "PUB_KEY_ID_0114218000000000000000000000000001"
        wx = conf["WECHATPAY"] = {**conf["WECHATPAY"], "PUBLIC_KEY": public_pem}
        wx["PUBLIC_KEY_ID"] = key_id
        (tmp_path / "apiv3_key").write_text(wx["APIV3_KEY"] + "\n")
        args = ["--wechatpay-private-key", str(key_file), "--wechatpay-serial", key_id]
        args += ["--apiv3-key-file", str(tmp_path / "apiv3_key")]
        args += ["--mchid", wx["MCHID"], "--appid", wx["APPID"]]
    settings.ZHIFU = conf
    status, result = probe(capsys, site + NOTIFY[provider], *args)
    assert status == report.EXIT_OK, by_name(result)
    assert str(key_file) in result["endpoints"][0]["signing"]
    assert Notification.objects.filter(reason="unknown_order").count() == 3


def test_text_report_one_line_per_check(site, sandbox, capsys):
    status = cli.main(["probe", site + NOTIFY["alipay"], "--sandbox-dir", str(sandbox.data_dir)])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].startswith(f"zhifu probe: {site}{NOTIFY['alipay']} (alipay; signing: ")
    assert lines[1].startswith('PASS forged-signature: refused: 400 "fail" (')
    assert lines[1].endswith(" ms)")
    assert any(line.startswith("PASS concurrent-duplicates: both copies refused") for line in lines)
    assert any(line.startswith("made-up trade numbers sent: ZHIFUPROBE") for line in lines)
    assert lines[-1] == "6 passed, 0 failed, 0 skipped"


@pytest.mark.parametrize("provider", ["alipay", "wechatpay"])
def test_without_signing_keys_only_the_keyless_checks_run(provider, site, capsys):
    status, result = probe(capsys, site + NOTIFY[provider])
    found = by_name(result)
    assert status == report.EXIT_OK
    assert found["unknown-order"]["status"] == found["concurrent-duplicates"]["status"] == "SKIP"
    ran = {name for name, c in found.items() if c["status"] == "PASS"}
    assert {"forged-signature", "unsigned", "malformed", "answer-time"} <= ran
    assert ("signtest" in ran) is (provider == "wechatpay")
    assert result["endpoints"][0]["signing"] == "none"
    assert any("no signing keys" in note for note in result["endpoints"][0]["notes"])
    assert Notification.objects.filter(reason="unknown_order").count() == 0


@pytest.mark.parametrize("provider", ["alipay", "wechatpay"])
def test_an_endpoint_that_acknowledges_everything_fails(provider, site, sandbox, capsys):
    url = f"{site}/anything/{provider}/notify/"
    status, result = probe(capsys, url, "--sandbox-dir", str(sandbox.data_dir))
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert found.pop("answer-time")["status"] == "PASS"
    assert {c["status"] for c in found.values()} == {"FAIL"}, found
    assert "does not verify the signature" in found["forged-signature"]["detail"]
    assert "never created" in found["unknown-order"]["detail"]


def test_a_handler_that_verifies_but_never_looks_up_the_order_fails(site, sandbox, capsys):
    """Seed 003's handler: forgeries are refused, but a genuine notification for an order the
    site does not have is answered ``success``."""
    status, result = probe(
        capsys, site + "/naive/alipay/notify/", "--sandbox-dir", str(sandbox.data_dir)
    )
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert [found[n]["status"] for n in ("forged-signature", "unsigned", "malformed")] == [
        "PASS"
    ] * 3
    assert found["unknown-order"]["status"] == "FAIL"
    assert found["unknown-order"]["answers"][0]["body"] == "success"
    assert found["concurrent-duplicates"]["status"] == "FAIL"


def test_wechat_refusals_must_be_4xx_or_5xx_with_code_fail(site, sandbox, capsys):
    status, result = probe(capsys, site + "/status200/wechatpay/notify/")
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert found["forged-signature"]["status"] == "FAIL"
    assert found["forged-signature"]["detail"].startswith('acknowledged: 200 "{')  # status rules

    status, result = probe(capsys, site + "/crash/wechatpay/notify/")
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert found["forged-signature"]["answers"][0]["status"] == 500
    assert "not WeChat's" in found["forged-signature"]["detail"]


def test_a_url_with_no_endpoint_is_not_a_pass(site, capsys):
    status, result = probe(capsys, site + "/no-such-page/alipay/notify/")
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert "no notify endpoint" in found["forged-signature"]["detail"]


def test_a_redirect_is_not_a_pass(site, capsys):
    """Without its trailing slash Django redirects the POST; the gateways do not follow."""
    status, result = probe(capsys, site + NOTIFY["alipay"].rstrip("/"))
    found = by_name(result)
    assert status == report.EXIT_FAILED
    assert found["forged-signature"]["detail"].startswith(f"redirected to {NOTIFY['alipay']}")


def test_slow_answers_fail_the_time_check(site):
    """The 5-second rule, with a limit of 0.1 s against an endpoint that takes 0.3 s."""
    endpoint = Endpoint(site + "/slow/alipay/notify/", AlipayKit(alipay_party(KeyOptions())))
    with httpx.Client(timeout=5) as client:
        done = checks.run(endpoint, client, time_limit=0.1)
    found = {c.name: c for c in done.checks}
    assert found["forged-signature"].status == "PASS"
    assert found["answer-time"].status == "FAIL"
    assert "within 0.1 s" in found["answer-time"].detail
    text = report.render_text([done]).splitlines()
    assert text[0] == f"zhifu probe: {endpoint.url} (alipay; signing: none)"
    assert text[-1] == "3 passed, 1 failed, 2 skipped"
    assert report.exit_status([done]) == report.EXIT_FAILED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_endpoint_is_exit_2_with_a_clear_message():
    """Through the real command, in a fresh interpreter that never imports Django."""
    url = f"http://127.0.0.1:{_free_port()}/zhifu/alipay/notify/"
    code = (
        "import sys; from zhifu.cli import main; status = main(sys.argv[1:]); "
        "assert 'django' not in sys.modules, 'the probe imported Django'; sys.exit(status)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "probe", url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == report.EXIT_UNUSABLE, done.stderr
    assert done.stderr.startswith(f"zhifu probe: error: cannot reach {url}: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://shop.example.com/zhifu/alipay/notify/"], "is not an http:// or https:// URL"),
        (["https://shop.example.com/notify/"], "give --provider alipay or --provider wechatpay"),
        (["https://shop.example.com/zhifu/alipay/notify/", "--sandbox-dir", "/nonexistent"],
         "no such directory"),
        (["https://shop.example.com/zhifu/alipay/notify/", "--alipay-private-key", __file__],
         "--alipay-private-key"),
        (["https://shop.example.com/zhifu/wechatpay/notify/", "--wechatpay-private-key",
          __file__], "needs --wechatpay-serial"),
        (["https://shop.example.com/zhifu/alipay/notify/", "--timeout", "0"], "--timeout"),
    ],
)  # fmt: skip
def test_unusable_input_is_exit_2(args, message, capsys):
    assert cli.main(["probe", *args]) == report.EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert err.startswith("zhifu probe: error: ") and message in err, err
    assert "Traceback" not in err


def test_json_says_why_it_could_not_run(capsys):
    url = f"http://127.0.0.1:{_free_port()}/zhifu/wechatpay/notify/"
    assert cli.main(["probe", url, "--json"]) == report.EXIT_UNUSABLE
    answer = json.loads(capsys.readouterr().out)
    assert answer["exit_status"] == 2 and answer["error"].startswith(f"cannot reach {url}")


def test_exit_statuses_are_the_commands():
    assert (report.EXIT_OK, report.EXIT_FAILED, report.EXIT_UNUSABLE) == (
        cli.EXIT_OK,
        cli.EXIT_FAILED,
        cli.EXIT_UNUSABLE,
    )
