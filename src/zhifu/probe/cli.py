"""The `zhifu probe` command: send a notify endpoint what an attacker and a flaky network would,
and say whether each was refused or acknowledged as it should be (:mod:`zhifu.probe.checks`).

Exit status: 0 every check that ran passed, 1 a check failed, 2 unusable input or the endpoint
cannot be reached (as the other ``zhifu`` commands).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .checks import PROVIDERS, TIME_LIMIT, AlipayKit, Endpoint, Kit, WechatKit, run
from .errors import ProbeError, ProbeInputError
from .keys import KeyOptions, alipay_party, wechat_party
from .report import (
    EXIT_UNUSABLE,
    CheckResult,
    EndpointReport,
    exit_status,
    footer_lines,
    header_line,
    render_json,
)
from .transport import check_url

__all__ = ["add_parser", "cmd_probe", "provider_of"]

DESCRIPTION = """\
Send a notify endpoint what an attacker and a flaky network would — a forged signature, an
unsigned and a malformed notification, WeChat Pay's SIGNTEST probe, a genuine-looking
notification for an order that does not exist, the same notification twice at once — and say,
one line each, whether it was refused or acknowledged as it should be, and how long each answer
took (WeChat Pay wants one within 5 s). Every message is about a trade number the probe made up
(ZHIFUPROBE…): no real order is touched. Genuine-looking notifications need the gateway's own
signing key, which only a sandbox has: give --sandbox-dir (the data dir of the `zhifu sandbox`
the site is configured against) or key files; without them only the checks that need no key
run. Exit status: 0 all passed, 1 a check failed, 2 unusable input or endpoint unreachable."""


def provider_of(url: str, given: str | None) -> str:
    """``alipay`` or ``wechatpay``: as given, else from the URL's path."""
    if given:
        return given
    path = urlsplit(url).path.lower()
    found = [p for p in PROVIDERS if p in path or (p == "wechatpay" and "wechat" in path)]
    if len(found) != 1:
        raise ProbeInputError(
            f"cannot tell from {url} whether it is an Alipay or a WeChat Pay endpoint: "
            "give --provider alipay or --provider wechatpay"
        )
    return found[0]


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _options(args: argparse.Namespace) -> KeyOptions:
    return KeyOptions(
        sandbox_dir=_path(args.sandbox_dir),
        alipay_private_key=_path(args.alipay_private_key),
        app_id=args.app_id,
        seller_id=args.seller_id,
        wechatpay_private_key=_path(args.wechatpay_private_key),
        wechatpay_serial=args.wechatpay_serial,
        apiv3_key_file=_path(args.apiv3_key_file),
        mchid=args.mchid,
        appid=args.appid,
    )


def _endpoints(args: argparse.Namespace) -> list[Endpoint]:
    options = _options(args)
    endpoints: list[Endpoint] = []
    kits: dict[str, Kit] = {}
    for url in args.urls:
        check_url(url)
        provider = provider_of(url, args.provider)
        if provider not in kits:
            kits[provider] = (
                WechatKit(wechat_party(options))
                if provider == "wechatpay"
                else AlipayKit(alipay_party(options))
            )
        endpoints.append(Endpoint(url, kits[provider]))
    return endpoints


def _fail(message: str, as_json: bool) -> int:
    print(f"zhifu probe: error: {message}", file=sys.stderr)
    if as_json:
        import json

        print(json.dumps({"error": message, "exit_status": EXIT_UNUSABLE}, ensure_ascii=False))
    return EXIT_UNUSABLE


def cmd_probe(args: argparse.Namespace) -> int:
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        return _fail("--timeout must be a positive number of seconds", args.json)
    try:
        endpoints = _endpoints(args)
    except ProbeError as exc:
        return _fail(str(exc), args.json)
    reports: list[EndpointReport] = []
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 5.0))
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for endpoint in endpoints:
                if not args.json:
                    _print_header(endpoint, reports)
                progress = None if args.json else _print_check
                reports.append(run(endpoint, client, time_limit=TIME_LIMIT, progress=progress))
                if not args.json:
                    _print_footer(reports[-1])
    except ProbeError as exc:
        return _fail(str(exc), args.json)
    if args.json:
        print(render_json(reports))
    return exit_status(reports)


# Text is printed as the checks run (a slow endpoint shows where it is slow); render_text gives
# the same lines at once.


def _print_header(endpoint: Endpoint, done: list[EndpointReport]) -> None:
    kit = endpoint.kit
    if done:
        print()
    signing = kit.signing if kit.can_sign else "none"
    print(header_line(endpoint.url, kit.provider, signing), flush=True)


def _print_check(result: CheckResult) -> None:
    print(result.line(), flush=True)


def _print_footer(report: EndpointReport) -> None:
    print("\n".join(footer_lines(report)), flush=True)


def add_parser(commands: Any) -> None:
    """Register `probe` among the `zhifu` commands."""
    probe = commands.add_parser(
        "probe",
        help="self-test a notify endpoint: forged, unsigned, SIGNTEST, unknown order, "
        "concurrent duplicates, answer time",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument(
        "urls",
        nargs="+",
        metavar="URL",
        help="notify endpoint(s), e.g. https://shop.example.com/zhifu/alipay/notify/",
    )
    probe.add_argument(
        "--provider",
        choices=PROVIDERS,
        help="the endpoint's gateway (default: from the URL's path)",
    )
    probe.add_argument(
        "--sandbox-dir",
        metavar="DIR",
        help="data dir of the zhifu sandbox the site trusts (e.g. var/sandbox): its Alipay and "
        "WeChat Pay signing keys, APIv3 key, app id, seller and merchant",
    )
    keys = probe.add_argument_group("explicit keys and identities (override --sandbox-dir)")
    keys.add_argument(
        "--alipay-private-key",
        metavar="FILE",
        help="the private key whose public half the site has as ALIPAY_PUBLIC_KEY",
    )
    keys.add_argument("--app-id", help="the site's Alipay app id (default: made up)")
    keys.add_argument("--seller-id", help="the site's Alipay seller id, 2088… (default: made up)")
    keys.add_argument(
        "--wechatpay-private-key",
        metavar="FILE",
        help="the private key of the WeChat Pay public key or platform certificate the site trusts",
    )
    keys.add_argument(
        "--wechatpay-serial", metavar="ID", help="its PUB_KEY_ID_… or certificate serial"
    )
    keys.add_argument("--apiv3-key-file", metavar="FILE", help="file holding the APIv3 key")
    keys.add_argument("--mchid", help="the site's WeChat Pay merchant id (default: made up)")
    keys.add_argument("--appid", help="the site's WeChat appid (default: made up)")
    probe.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for one answer (default: 10; answers over 5 s fail anyway)",
    )
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.set_defaults(func=cmd_probe)
