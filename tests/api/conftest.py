import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def fresh_throttles():
    """The token endpoints count requests in the cache; each test starts with none counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(fake_alipay):
    return APIClient()


@pytest.fixture
def token_for(api):
    def issue(user, password):
        response = api.post(
            "/api/token/", {"username": user.username, "password": password}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    return issue


@pytest.fixture
def buyer_api(api, user, token_for):
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(user, "pw-buyer-1")["access"])
    return api
