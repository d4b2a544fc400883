"""A database that is down or hung under the site's own pages: 503 with Retry-After (the page
of templates/503.html, or the API's error shape for a JSON client), never a 500 page
(zhifu.middleware.DatabaseUnavailableMiddleware). The failure is real: every statement on the
order table raises what the driver raises when the server goes away."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def _orders_table_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    if "zhifu_order" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


def test_my_orders_with_the_database_down_is_a_503_page(en: Any) -> None:
    with connection.execute_wrapper(_orders_table_down):
        page = en.get("/orders/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    body = page.content.decode()
    assert 'data-testid="error-503"' in body and "cannot reach its database" in body


def test_a_json_client_gets_the_error_shape(en: Any) -> None:
    with connection.execute_wrapper(_orders_table_down):
        answer = en.get("/orders/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "service_unavailable"


def test_the_page_is_in_chinese_by_default(alice_client: Any) -> None:
    with connection.execute_wrapper(_orders_table_down):
        page = alice_client.get("/orders/")
    assert page.status_code == 503 and "暂时无法访问" in page.content.decode()


def test_other_errors_keep_their_handling(en: Any) -> None:
    # not a database outage: the middleware stays out of the way (404 stays 404)
    assert en.get("/orders/Z-no-such-order/").status_code == 404
