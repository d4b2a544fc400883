"""zhifu.middleware.DatabaseUnavailableMiddleware, for a site's own views: a database outage is a
503 with Retry-After — JSON in the API's shape for a JSON client, the site's 503.html or a short
page for a browser — and anything else is left to Django."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

from zhifu.middleware import DatabaseUnavailableMiddleware

middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse("ok"))


def test_a_browser_gets_a_503_page_even_without_a_503_template(rf):
    request = rf.get("/shop/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    answer = middleware.process_exception(request, OperationalError("server closed"))
    assert answer is not None and answer.status_code == 503 and answer["Retry-After"] == "5"
    assert "<p>" in answer.content.decode()  # the test project has no 503.html: the short page


def test_a_json_client_gets_the_error_shape(rf):
    request = rf.get("/shop/", HTTP_ACCEPT="application/json")
    answer = middleware.process_exception(request, InterfaceError("connection already closed"))
    assert answer is not None and answer.status_code == 503
    assert answer["Content-Type"] == "application/json"
    assert b'"code": "service_unavailable"' in answer.content


def test_other_exceptions_are_left_to_django(rf):
    assert middleware.process_exception(rf.get("/"), ValueError("a bug")) is None
