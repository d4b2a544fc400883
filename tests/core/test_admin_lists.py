"""Admin list pages run a constant number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.core.factories import make_order
from zhifu.models import Notification
from zhifu.services import wallet
from zhifu.services.payments import pay_with_balance
from zhifu.services.refunds import refund_order

pytestmark = pytest.mark.django_db(transaction=True)


# -- admin list pages: a constant number of queries ---------------------------------------------


@pytest.fixture
def admin_client_(django_user_model, fake_alipay):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client()
    client.force_login(admin)
    return client


def _rows(django_user_model, n: int, tag: str) -> None:
    for i in range(n):
        user = django_user_model.objects.create_user(f"{tag}{i}")
        wallet.post_entry(user, "20.00", "adjustment")
        order = make_order(user, "5.00")
        pay_with_balance(order, user=user)
        refund_order(order, amount="1.00")
        Notification.objects.create(body="x=1", out_trade_no=order.out_trade_no)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/zhifu/order/",
        "/admin/zhifu/refund/",
        "/admin/zhifu/wallet/",
        "/admin/zhifu/ledgerentry/",
        "/admin/zhifu/notification/",
    ],
)
def test_admin_list_pages_in_constant_queries(admin_client_, django_user_model, url):
    _rows(django_user_model, 2, "a")
    with CaptureQueriesContext(connection) as few:
        assert admin_client_.get(url).status_code == 200
    _rows(django_user_model, 6, "b")
    with CaptureQueriesContext(connection) as many:
        assert admin_client_.get(url).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
