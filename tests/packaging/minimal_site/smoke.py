"""Run inside the minimal site after `manage.py migrate`: one order paid through Zhifu's services
against the running sandbox, the app's pages, templates, translations and type marker. Prints
one line per check and exits non-zero (with the assertion) on the first that fails."""

import os
import sys
from decimal import Decimal
from importlib import resources

import django
import httpx

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import translation  # noqa: E402

from zhifu.models import Order  # noqa: E402
from zhifu.services.orders import LineSpec, create_order  # noqa: E402
from zhifu.services.payments import start_payment, sync_attempt  # noqa: E402


def main() -> None:
    print("Django", django.get_version())
    user = get_user_model().objects.create_user("buyer", password="not-secret")
    order = create_order(user, lines=[LineSpec(title="Course", unit_price=Decimal("9.90"))])
    assert order.total_amount == Decimal("9.90") and order.status == Order.Status.PENDING, order
    start = start_payment(order, "alipay_page", user=user)
    assert start.pay_url.startswith(settings.ZHIFU["GATEWAY_URL"]), start.pay_url
    print("order created, page-pay URL signed:", order.out_trade_no)

    # The buyer pays at the sandbox's cashier (its control API), then the site asks Alipay.
    base = settings.ZHIFU["GATEWAY_URL"].rsplit("/", 1)[0]
    app_id, out_trade_no = settings.ZHIFU["APP_ID"], start.attempt.out_trade_no
    httpx.get(start.pay_url, timeout=10, follow_redirects=True).raise_for_status()
    httpx.post(
        f"{base}/sandbox/api/trades/{app_id}/{out_trade_no}/pay",
        json={"buyer": "buyer1@sandbox.com"},
        timeout=10,
    ).raise_for_status()
    order = sync_attempt(start.attempt)
    assert order.status == Order.Status.PAID, order.status
    print("paid, confirmed by alipay.trade.query")

    client = Client()
    forged = client.post("/zhifu/alipay/notify/", b"out_trade_no=x&sign=forged", "text/plain")
    assert forged.status_code == 400 and forged.content == b"fail", forged
    bare = client.get("/zhifu/alipay/return/", headers={"accept-language": "zh-hans"})
    page = bare.content.decode()
    assert bare.status_code == 400 and 'data-code="missing_parameters"' in page, page
    assert '<html lang="zh-hans">' in page, "the return page is not in the visitor's language"
    print("notify refuses a forged body; the return page renders in Chinese")

    for name in ("zhifu/return.html", "admin/zhifu/order/change_form.html"):
        get_template(name)
    with translation.override("zh-hans"):
        label = str(Order.Status.PAID.label)
    assert label != "paid", "the zh_Hans catalogue is missing or not compiled"
    assert resources.files("zhifu").joinpath("py.typed").is_file()
    print(f"templates, the Chinese catalogue ({label!r}) and py.typed are installed")

    optional = ["zhifu.api", "zhifu.tasks", "rest_framework", "celery"]
    loaded = [name for name in optional if name in sys.modules]
    assert not loaded, f"imported without being asked: {loaded}"
    print("ok")


if __name__ == "__main__":
    main()
