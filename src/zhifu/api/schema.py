"""What the OpenAPI schema says about answers other than success: every error the API gives has
the shape of :func:`zhifu.api.errors.error_body`, and each operation declares the statuses it
can answer with, so that a client generator (or schemathesis) can rely on the schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..services.idempotency import MAX_KEY_LENGTH

__all__ = ["IDEMPOTENCY_KEY", "ErrorSerializer", "errors"]


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="stable snake_case code, e.g. `unknown_sku`")
    message = serializers.CharField(help_text="readable, in the request's language")
    # A field named like Serializer.fields: DRF's metaclass moves declared fields aside.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="for `invalid_request`: the problems by field"
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


_MEANING = {
    400: "The request is not valid (the code says what is wrong).",
    401: "Not signed in, or the token is not valid (or has expired).",
    403: "Signed in, but not allowed to do this.",
    404: "No such thing, or not yours.",
    409: "Not possible in the current state (e.g. the order is no longer pending), or the "
    "Idempotency-Key was already used for another request.",
    413: "The request body is too large.",
    429: "Too many requests: wait for the seconds in `Retry-After`.",
    503: "The payment gateway cannot be reached; try again later.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers an operation can give, for ``extend_schema(responses=...)``."""
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=_MEANING[status])
        for status in statuses
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Send the same key again (e.g. after a timeout) to get the first answer instead of a "
        "second order; a key used with a different body is refused with 409 "
        "`idempotency_key_reused`. 1 to 255 visible ASCII characters (a UUID); kept 24 hours."
    ),
    pattern=rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$",
)
