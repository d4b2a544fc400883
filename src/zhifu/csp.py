"""Widening a site's Content-Security-Policy for one response: Django 6's ``SECURE_CSP`` or
django-csp's ``CONTENT_SECURITY_POLICY``, whichever the site uses (a site with neither sends no
policy, and nothing is done)."""

from __future__ import annotations

import django
from django.conf import settings
from django.http import HttpResponse

__all__ = ["allow_origin"]


def allow_origin(response: HttpResponse, origin: str) -> None:
    """This response only: the site's Content-Security-Policy (Django 6's ``SECURE_CSP`` or
    django-csp's ``CONTENT_SECURITY_POLICY``) also allows ``origin`` for scripts, requests and
    frames: the sandbox's bridge script, its check request and its wallet frame."""
    extra = ("script-src", "connect-src", "frame-src")
    if django.VERSION >= (6, 0):
        configured = getattr(settings, "SECURE_CSP", None)
        if not configured:
            return  # the site sends no policy: nothing to widen
        policy = {k: list(v) for k, v in configured.items()}
        for directive in extra:
            base = policy.get(directive) or list(policy.get("default-src", ["'self'"]))
            policy[directive] = [*base, origin]
        response._csp_config = policy  # type: ignore[attr-defined]  # django.views.decorators.csp
        return
    conf = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    directives = conf.get("DIRECTIVES") if isinstance(conf, dict) else None
    if not isinstance(directives, dict):
        return
    update: dict[str, list[str]] = {}
    for directive in extra:
        # django-csp appends to a directive the policy has; one it lacks would start empty
        # (and no longer fall back to default-src): start it from default-src.
        base = [] if directive in directives else list(directives.get("default-src", ["'self'"]))
        update[directive] = [*base, origin]
    response._csp_update = update  # type: ignore[attr-defined]  # csp.decorators.csp_update
