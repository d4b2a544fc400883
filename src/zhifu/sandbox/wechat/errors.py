"""WeChat's error answers: HTTP status, ``code``, ``message`` and an optional ``detail``."""

from __future__ import annotations

from typing import Any

__all__ = ["WechatApiError", "missing", "param_error"]


class WechatApiError(Exception):
    """Answered as ``{"code", "message", "detail"?}`` with ``status`` (reference section 5)."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            data["detail"] = self.detail
        return data


def param_error(
    pointer: str, issue: str, *, value: Any = None, location: str = "body"
) -> WechatApiError:
    """400 PARAM_ERROR naming the field as a JSON pointer, as WeChat's ``detail`` does."""
    detail: dict[str, Any] = {"field": pointer, "location": location, "issue": issue}
    if value is not None:
        detail["value"] = value
    return WechatApiError(400, "PARAM_ERROR", f"参数错误: {pointer} {issue}", detail)


def missing(pointer: str, label: str, location: str = "body") -> WechatApiError:
    """A required field absent, in WeChat's words."""
    return WechatApiError(
        400,
        "PARAM_ERROR",
        f"输入源“/{location}{pointer}”映射到字段“{label}”必填性规则校验失败，此字段为必填项",
        {"field": pointer, "location": location, "issue": "required"},
    )
