from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """The header's cart count (the cart lives in the cache)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"cart_count": 0}
    from courses.cart import Cart

    return {"cart_count": Cart(user).count()}
