"""``csp_nonce`` in templates on Django 5.2 (django-csp), as Django 6's own ``csp`` context
processor provides it: ``<script nonce="{{ csp_nonce }}">``."""

from __future__ import annotations

from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, object]:
    # django-csp's lazy nonce: the header names it only if a template used it.
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
