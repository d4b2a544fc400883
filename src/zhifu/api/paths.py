"""Row ids in the API's detail URLs (``<str:pk>/``, not ``<int:pk>/``: a URL like ``-5/`` or a
30-digit number must reach the view and get the API's JSON 404, not the site's HTML page from
the URL resolver, nor an out-of-range error from the database)."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound

__all__ = ["id_parameter", "row_id"]

_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a bigint


def row_id(pk: str) -> int:
    """``pk`` as a row id, or :class:`NotFound` for what cannot be one."""
    if not _ID.fullmatch(pk):
        raise NotFound()
    return int(pk)


def id_parameter(what: str) -> OpenApiParameter:
    """The schema's ``{id}`` path parameter: an integer (the URL takes any text)."""
    return OpenApiParameter("id", int, OpenApiParameter.PATH, description=f"the {what}'s id")
