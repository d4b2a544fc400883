"""The refund requests API never answers 5xx, whatever a buyer sends (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api.test_fuzz import FUZZ, check, json_values
from tests.refundrequests.conftest import paid_by_pipeline
from zhifu.refundrequests.models import RefundRequest

pytestmark = pytest.mark.django_db

lines = st.one_of(
    json_values,
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=4),
)
reasons = st.one_of(json_values, st.text(max_size=300))


@FUZZ
@given(lines=lines, reason=reasons, whole=st.booleans(), key=st.one_of(st.none(), st.text()))
def test_anything_sent_is_answered_without_5xx(fake_alipay, user, lines, reason, whole, key):
    RefundRequest.objects.all().delete()
    order = paid_by_pipeline(user)
    api = APIClient()
    api.force_authenticate(user)
    payload = {"out_trade_no": order.out_trade_no, "reason": reason}
    if not whole:
        payload["lines"] = lines
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    body = check(api.post("/api/refund-requests/", payload, format="json", **headers))
    if body is not None and "id" in body:
        assert RefundRequest.objects.filter(pk=body["id"], user=user).exists()
