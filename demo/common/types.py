"""Request types for views that only run for a signed-in user.

``@login_required`` views and DRF views with ``IsAuthenticated`` never see an anonymous user, but
the stubs type ``request.user`` as ``User | AnonymousUser``. Annotating such a view's ``request``
with these classes tells the type checker so (the documented django-stubs pattern); they are never
instantiated, so nothing changes at run time.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a ``@login_required`` view."""

    user: User


class AuthenticatedRequest(Request):
    """The request of a DRF view whose permissions include ``IsAuthenticated``."""

    user: User
