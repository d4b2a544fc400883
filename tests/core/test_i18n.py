"""The core's user-facing text is translatable and ships in Simplified Chinese: codes never change
with the language, English stays English where no translation is active, and logs stay English."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from rest_framework.test import APIClient

import zhifu
from tests.core.factories import make_order
from tests.shop.models import Product
from zhifu.catalog import UnknownSku
from zhifu.exceptions import IllegalTransition, InsufficientBalance, OrderError
from zhifu.models import LedgerEntry, Order
from zhifu.providers import registry
from zhifu.services import wallet
from zhifu.services.orders import create_order_from_skus
from zhifu.services.transitions import transition

LOCALE = Path(zhifu.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


# --- the catalogue -------------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    flags: set[str] = field(default_factory=set)
    line: int = 0


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: flags, msgid and msgstr (with continuation lines) of every entry."""
    entries: list[Entry] = []
    current: Entry | None = None
    target = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            current, target = None, ""
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            pytest.fail(f"line {number}: the parser does not know {line.split()[0]}")
        elif line.startswith("msgid "):
            target, current.msgid = "msgid", ast.literal_eval(line[6:])
        elif line.startswith("msgstr "):
            target, current.msgstr = "msgstr", ast.literal_eval(line[7:])
        elif line.startswith('"') and target:
            setattr(current, target, getattr(current, target) + ast.literal_eval(line))
        else:
            pytest.fail(f"line {number}: unexpected {line!r}")
    return entries


def messages() -> list[Entry]:
    return [e for e in parse_po(LOCALE / "django.po") if e.msgid]


def test_the_po_is_complete_and_nothing_is_fuzzy() -> None:
    entries = parse_po(LOCALE / "django.po")
    header = [e for e in entries if not e.msgid]
    assert len(header) == 1 and "fuzzy" not in header[0].flags
    assert "charset=UTF-8" in header[0].msgstr and "Language: zh_Hans" in header[0].msgstr
    found = messages()
    assert len(found) > 150  # errors, statuses, verbose names, admin, the return page
    untranslated = [e.msgid for e in found if not e.msgstr.strip()]
    fuzzy = [e.msgid for e in found if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    for entry in found:
        assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(
            PLACEHOLDER.findall(entry.msgid)
        ), f"line {entry.line}: placeholders differ in {entry.msgid!r}"
        assert entry.msgstr != entry.msgid or entry.msgid in ("SKU",), entry.msgid


def test_the_compiled_mo_matches_the_po() -> None:
    """Catches a .po edited without running compilemessages."""
    with (LOCALE / "django.mo").open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    for entry in messages():
        assert catalog.gettext(entry.msgid) == entry.msgstr, entry.msgid


# --- errors --------------------------------------------------------------------------------------


@pytest.fixture
def buyer_api(fake_alipay, user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def short_of_money(user):
    """An order of 277.00 and a wallet holding 200.00."""
    wallet.post_entry(user, "200.00", LedgerEntry.Kind.ADJUSTMENT, memo="test")
    return make_order(user, "277.00")


def test_api_error_in_chinese_keeps_its_code(buyer_api, short_of_money) -> None:
    url = f"/api/orders/{short_of_money.out_trade_no}/pay/"
    with translation.override("zh-hans"):
        response = buyer_api.post(url, {"channel": "balance"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "insufficient_balance",
            "message": "钱包余额不足：当前余额 200.00，需要 277.00",
        }
    }


def test_api_error_follows_accept_language(buyer_api, settings, user) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:1],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[1:],
    ]
    with translation.override("en"):  # whatever the middleware activates is undone afterwards
        zh = buyer_api.get("/api/orders/NOPE/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
        en = buyer_api.get("/api/orders/NOPE/", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 404
    assert zh.json()["error"] == {"code": "order_not_found", "message": "订单不存在"}
    assert en.json()["error"] == {"code": "order_not_found", "message": "no such order"}


def test_english_stays_english(buyer_api, short_of_money) -> None:
    url = f"/api/orders/{short_of_money.out_trade_no}/pay/"
    response = buyer_api.post(url, {"channel": "balance"}, format="json")
    assert response.json()["error"] == {
        "code": "insufficient_balance",
        "message": "the wallet holds 200.00, 277.00 is needed",
    }


def test_a_message_is_translated_when_read_and_has_an_english_form_for_logs(
    fake_alipay, user, short_of_money
) -> None:
    with translation.override("zh-hans"), pytest.raises(InsufficientBalance) as info:
        wallet.post_entry(user, "-277.00", LedgerEntry.Kind.PAYMENT, memo="test")
    exc = info.value
    assert exc.code == "insufficient_balance"
    english = "the wallet holds 200.00, 277.00 is needed"
    assert exc.message == english  # read outside the override: English again
    with translation.override("zh-hans"):
        assert exc.message == "钱包余额不足：当前余额 200.00，需要 277.00"
        assert exc.english_message == english
        assert str(exc) == f"insufficient_balance: {english}"


def test_statuses_and_verbose_names_translate(fake_alipay, user) -> None:
    order = make_order(user)
    assert order.get_status_display() == "pending payment"
    with translation.override("zh-hans"):
        assert order.get_status_display() == "待支付"
        labels = {value: str(label) for value, label in Order.Status.choices}
        assert labels == {
            "pending": "待支付",
            "paid": "已支付",
            "partially_refunded": "部分退款",
            "refunded": "已退款",
            "cancelled": "已取消",
            "expired": "已过期",
        }
        assert str(registry.channels()["balance"]) == "钱包余额"
        assert str(Order._meta.verbose_name) == "订单"
        assert str(Order._meta.get_field("out_trade_no").verbose_name) == "订单号"
    assert str(Order._meta.verbose_name) == "order"


def test_illegal_transition_names_statuses_in_the_language(fake_alipay, user) -> None:
    order = make_order(user)
    transition(order, Order.Status.CANCELLED)
    with pytest.raises(IllegalTransition) as info:
        transition(order, Order.Status.PAID)
    exc = info.value
    assert exc.code == "illegal_transition"
    assert exc.message == f"order {order.out_trade_no} cannot go from cancelled to paid"
    with translation.override("zh-hans"):
        assert exc.message == f"订单 {order.out_trade_no} 的状态不能从“已取消”变为“已支付”"


def test_quantity_limits_read_naturally(fake_alipay, user) -> None:
    Product.objects.create(sku="one", title="course", price=Decimal("9.90"), max_quantity=1)
    Product.objects.create(sku="three", title="pen", price=Decimal("1.00"), max_quantity=3)
    with pytest.raises(OrderError) as one:
        create_order_from_skus(user, [{"sku": "one", "quantity": 2}])
    with pytest.raises(OrderError) as three:
        create_order_from_skus(user, [{"sku": "three", "quantity": 5}])
    assert one.value.code == three.value.code == "invalid_quantity"
    assert one.value.message == "only one of this item can be bought"
    assert three.value.message == "the quantity must be between 1 and 3"
    with translation.override("zh-hans"):
        assert one.value.message == "该商品限购一件"
        assert three.value.message == "购买数量须在 1 到 3 之间"
    assert create_order_from_skus(user, [{"sku": "one", "quantity": 1}]).total_amount == Decimal(
        "9.90"
    )


def test_errors_raised_with_a_code_only_have_a_translated_default() -> None:
    assert OrderError("order_not_payable").message == "the order can no longer be paid"
    assert UnknownSku().message == "this item is not on sale"
    assert OrderError("something_new").message == "something new"  # unknown codes: as before
    with translation.override("zh-hans"):
        assert OrderError("order_not_payable").message == "该订单已无法支付"
        assert UnknownSku().code == "unknown_sku"
        assert UnknownSku().message == "该商品未在售"


def test_a_site_message_passes_through_unchanged() -> None:
    """Sites raise with text they translated themselves (the demo does)."""
    exc = UnknownSku(message="没有这个商品")
    assert exc.message == exc.english_message == "没有这个商品"


def test_return_page_in_chinese(client) -> None:
    with translation.override("zh-hans"):
        page = client.get("/zhifu/alipay/return/")
        data = client.get("/zhifu/alipay/return/", HTTP_ACCEPT="application/json")
    assert page.status_code == data.status_code == 400
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html and "无法显示支付结果" in html
    assert 'data-code="missing_parameters"' in html
    assert data.json()["error"] == {
        "code": "missing_parameters",
        "message": "此页面需从支付页面付款后返回时打开",
    }
    english = client.get("/zhifu/alipay/return/").content.decode()
    assert "Cannot show this payment" in english and "无法" not in english


@pytest.mark.django_db
def test_an_order_of_several_lines_is_named_in_the_active_language(user) -> None:
    from zhifu.services.orders import LineSpec, create_order

    lines = [LineSpec("Python 入门", Decimal("1.00")), LineSpec("Django", Decimal("2.00"))]
    with translation.override("zh-hans"):
        assert create_order(user, lines=lines).subject == "Python 入门 等 2 件"
    with translation.override("en"):
        assert create_order(user, lines=lines).subject == "Python 入门 and others, 2 items"
