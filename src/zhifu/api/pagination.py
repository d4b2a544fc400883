"""Pages of lists. ``?page=`` must be a whole number from 1: ``page=``, ``page=0`` or
``page=null`` get a clear 400 (DRF would quietly serve page 1, or answer 404 "Invalid page"),
and the schema says so (``minimum: 1``). A page past the last one is a 404."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

__all__ = ["Pages"]


class Pages(PageNumberPagination):
    page_size = 20
    max_page = 10**6

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        # ASCII digits only: "²".isdigit() is true but int("²") fails.
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page:
            raise ValidationError(
                {
                    self.page_query_param: [
                        _("the page must be a whole number from 1 to %(maximum)s")
                        % {"maximum": self.max_page}
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page}
        return parameters
