"""``{% load zhifu %}{% zhifu_pay_form start %}``: the gateway's self-submitting pay form, its
script carrying the page's Content-Security-Policy nonce (Django 6's ``csp_nonce`` in the context,
or ``request.csp_nonce`` from django-csp), so a policy without ``unsafe-inline`` lets it run."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _nonce(context: template.Context) -> str | None:
    # Both lazy nonces (django-csp's and Django 6's) are false until read, and reading one is what
    # puts it in the header: so read them (str), never test them for truth first.
    for candidate in (context.get("csp_nonce"), getattr(context.get("request"), "csp_nonce", None)):
        value = str(candidate) if candidate is not None else ""
        if value:
            return value
    return None


@register.simple_tag(takes_context=True)
def zhifu_csp_nonce(context: template.Context) -> str:
    """``{% zhifu_csp_nonce as nonce %}``: the page's CSP nonce, or "" when the site has none."""
    return _nonce(context) or ""


@register.simple_tag(takes_context=True)
def zhifu_pay_form(context: template.Context, start: Any) -> SafeString:
    form = getattr(start, "form", None)
    if form is None:
        return mark_safe("")
    html: str = form.html(nonce=_nonce(context))
    return mark_safe(html)  # noqa: S308 - PayForm.html escapes every value
