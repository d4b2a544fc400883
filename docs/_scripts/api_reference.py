"""The API reference pages, rendered from Zhifu's OpenAPI schema (drf-spectacular).

A MkDocs hook (``hooks:`` in mkdocs.yml): before the files are collected, it generates the schema
of ``zhifu.api.urls`` mounted at ``/api/`` under the test settings (``tests.settings``, no network,
no database) and writes ``docs/reference/api.en.md`` and ``api.zh.md``, so the reference can never
drift from the code. The pages are build products (git-ignored); run this file directly to write
them without building the site: ``python docs/_scripts/api_reference.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "docs" / "reference"
METHODS = ("get", "post", "put", "patch", "delete")

# The words of the page; the schema's own descriptions come from the code (English docstrings,
# help texts translated by Zhifu's catalogue where it has them).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "HTTP API reference",
        "intro": (
            "Generated from the OpenAPI schema of `zhifu.api.urls` (drf-spectacular) when the "
            "site is built. Include the API at `/api/`: "
            '`path("api/", include("zhifu.api.urls"))`. A running site also serves the schema '
            "at `/api/schema/` and Swagger UI at `/api/docs/`."
        ),
        "auth": (
            "Authentication: a JWT from `POST /api/token/` sent as `Authorization: Bearer <access>`, "
            "or Django's session (with its CSRF token). Every endpoint except the token ones "
            "needs a signed-in user; a user only ever sees their own orders and wallet."
        ),
        "errors": (
            'Every error has the same shape, `{"error": {"code": "...", "message": "..."}}` '
            "(validation errors add `fields`); `message` follows the request's language, `code` "
            "never changes. Each code is explained in [Troubleshooting](../troubleshooting.md)."
        ),
        "endpoints": "Endpoints",
        "schemas": "Schemas",
        "parameters": "Parameters",
        "body": "Request body",
        "responses": "Responses",
        "name": "name",
        "in": "in",
        "type": "type",
        "required": "required",
        "description": "description",
        "field": "field",
        "yes": "yes",
        "no": "no",
        "read_only": "read-only",
        "values": "values",
        "auth_needed": "Needs a signed-in user (JWT or session).",
        "auth_none": "No authentication.",
        "status": "status",
    },
    "zh": {
        "title": "HTTP API 参考",
        "intro": (
            "本页在构建文档时由 `zhifu.api.urls` 的 OpenAPI schema（drf-spectacular）生成。"
            '在站点中把 API 挂在 `/api/`：`path("api/", include("zhifu.api.urls"))`。'
            "运行中的站点还在 `/api/schema/` 提供 schema，在 `/api/docs/` 提供 Swagger UI。"
        ),
        "auth": (
            "认证：用 `POST /api/token/` 取得 JWT，以 `Authorization: Bearer <access>` 发送；"
            "或使用 Django 的 session（带 CSRF token）。除取 token 的接口外，所有接口都需要登录；"
            "用户只能看到自己的订单和钱包。"
        ),
        "errors": (
            '所有错误的形状相同：`{"error": {"code": "...", "message": "..."}}`（参数校验错误另有 '
            "`fields`）。`message` 随请求的语言变化，`code` 永远不变。每个错误码的含义和处理见"
            "[按错误码排查](../troubleshooting.md)。"
        ),
        "endpoints": "接口",
        "schemas": "数据结构",
        "parameters": "参数",
        "body": "请求体",
        "responses": "响应",
        "name": "名称",
        "in": "位置",
        "type": "类型",
        "required": "必填",
        "description": "说明",
        "field": "字段",
        "yes": "是",
        "no": "否",
        "read_only": "只读",
        "values": "取值",
        "auth_needed": "需要登录（JWT 或 session）。",
        "auth_none": "无需认证。",
        "status": "状态码",
    },
}


# What each endpoint does, in both languages (the schema's descriptions are the views' English
# docstrings, some of them shared by several views). An endpoint missing here falls back to them.
SUMMARY: dict[str, dict[str, str]] = {
    "en": {
        "GET /api/orders/": "My orders, newest first, paginated, with their lines, adjustments and status.",
        "POST /api/orders/": (
            'Create an order from SKUs, priced by the site\'s catalogue (`ZHIFU["CATALOG"]`); any '
            "price sent is ignored. With `channel`, the answer also holds `payment` (as `pay/`). "
            "Send an `Idempotency-Key` header so that a retried request creates one order."
        ),
        "GET /api/orders/{out_trade_no}/": "One of my orders, with its payment attempts. Another user's order is 404.",
        "POST /api/orders/{out_trade_no}/cancel/": "Cancel one of my pending orders (its open Alipay trade is closed).",
        "POST /api/orders/{out_trade_no}/pay/": (
            "Pay a pending order with `channel`: `pay_url` / `form_html` (alipay_page, alipay_wap), "
            "`qr_code` (alipay_qr) or `paid` (balance). Calling it again reuses the open attempt "
            "of the same channel, or replaces attempts of other channels."
        ),
        "GET /api/refunds/": "Every refund, newest first. Needs the `zhifu.view_refund` permission.",
        "POST /api/refunds/": (
            "Refund an order — everything still refundable, or `amount`. Needs the "
            "`zhifu.add_refund` permission (being staff is not enough). The answer is the refund, "
            "whose `status` may be `unknown` (retried later with the same number)."
        ),
        "GET /api/schema/": "This OpenAPI schema (YAML, or JSON with `?format=json`).",
        "POST /api/token/": (
            "Sign in with a username and password: a short-lived `access` token and a `refresh` "
            "token. Limited per address and per username (429 `throttled` with `Retry-After`)."
        ),
        "POST /api/token/refresh/": (
            "A new `access` token for a `refresh` token; with rotation on, also a new `refresh` "
            "token, and the one sent can no longer be used."
        ),
        "POST /api/token/logout/": (
            "Log out: the `refresh` token is blacklisted. The `access` token stays valid until it "
            "expires, so the client drops it too."
        ),
        "GET /api/wallet/": "My wallet's balance.",
        "GET /api/wallet/ledger/": "My wallet's ledger entries, newest first: every movement of the balance.",
        "POST /api/wallet/top-up/": (
            "Create a top-up order of `amount`; pay it with `POST /api/orders/{out_trade_no}/pay/`. "
            "The wallet is credited when Alipay confirms the payment. Honours `Idempotency-Key`."
        ),
    },
    "zh": {
        "GET /api/orders/": "我的订单，按时间倒序、分页，含订单行、优惠调整和状态。",
        "POST /api/orders/": (
            '按 SKU 下单，价格由站点的商品目录（`ZHIFU["CATALOG"]`）计算，客户端传来的任何价格都被忽略。'
            "带 `channel` 时，响应里同时有 `payment`（与 `pay/` 相同）。发送 `Idempotency-Key` 请求头，"
            "重试的请求只会生成一个订单。"
        ),
        "GET /api/orders/{out_trade_no}/": "我的某个订单及其支付尝试。别人的订单一律 404。",
        "POST /api/orders/{out_trade_no}/cancel/": "取消我的一个待支付订单（其在支付宝的未付交易会被关闭）。",
        "POST /api/orders/{out_trade_no}/pay/": (
            "用 `channel` 支付一个待支付订单：返回 `pay_url` / `form_html`（alipay_page、alipay_wap）、"
            "`qr_code`（alipay_qr）或 `paid`（balance 余额支付）。再次调用会复用同一渠道未完成的支付尝试，"
            "或替换其他渠道的尝试。"
        ),
        "GET /api/refunds/": "所有退款，按时间倒序。需要 `zhifu.view_refund` 权限。",
        "POST /api/refunds/": (
            "为订单退款——退还全部可退金额，或 `amount`。需要 `zhifu.add_refund` 权限（仅是员工不够）。"
            "响应是这笔退款，其 `status` 可能是 `unknown`（之后用同一退款单号自动重试）。"
        ),
        "GET /api/schema/": "本 OpenAPI schema（YAML；加 `?format=json` 为 JSON）。",
        "POST /api/token/": (
            "用用户名和密码登录：得到短期有效的 `access` token 和一个 `refresh` token。按来源地址和用户名限流"
            "（429 `throttled`，带 `Retry-After`）。"
        ),
        "POST /api/token/refresh/": (
            "用 `refresh` token 换一个新的 `access` token；开启轮换时还会得到新的 `refresh` token，"
            "发来的那个随即作废。"
        ),
        "POST /api/token/logout/": (
            "退出登录：`refresh` token 被加入黑名单。`access` token 在过期之前仍然有效，所以客户端也要丢弃它。"
        ),
        "GET /api/wallet/": "我的钱包余额。",
        "GET /api/wallet/ledger/": "我的钱包流水，按时间倒序：余额的每一次变动。",
        "POST /api/wallet/top-up/": (
            "创建金额为 `amount` 的充值订单；用 `POST /api/orders/{out_trade_no}/pay/` 支付。"
            "支付宝确认支付后钱包才会入账。支持 `Idempotency-Key`。"
        ),
    },
}


# The schema's error answers are described in English; the same sentences in Chinese, by status.
ERROR_ANSWERS_ZH = {
    "400": "请求无效（错误码说明哪里不对）。",
    "401": "未登录，或 token 无效（或已过期）。",
    "403": "已登录，但无权这样做。",
    "404": "不存在，或不是你的。",
    "409": "当前状态下不可能（例如订单已不在待支付），或 Idempotency-Key 已用于另一个请求。",
    "413": "请求体太大。",
    "429": "请求太多；按 Retry-After 响应头等待。",
    "503": "支付网关暂时无法访问；请稍后重试。",
}


def get_schema(language: str) -> dict[str, Any]:
    """The OpenAPI schema of Zhifu's API, with lazily translated texts in ``language``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.urls import include, path
    from django.utils import translation
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(patterns=[path("api/", include("zhifu.api.urls"))])
    with translation.override("zh-hans" if language == "zh" else "en"):
        schema = generator.get_schema(request=None, public=True)
        # Force every lazy string while the language is active.
        return json.loads(json.dumps(schema, default=str))


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return "schema-" + name.lower()


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    fmt = schema.get("format")
    text = f"{kind} ({fmt})" if fmt and fmt not in ("int64",) else str(kind)
    if schema.get("nullable"):
        text += " \\| null"
    return text


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    for key in ("maxLength", "minimum", "maximum", "default"):
        if key in schema and not (key == "maximum" and schema[key] > 10**12):
            parts.append(f"{key}={json.dumps(schema[key], ensure_ascii=False)}")
    return ", ".join(parts)


def _fields_table(schema: dict[str, Any], t: dict[str, str]) -> list[str]:
    required = set(schema.get("required", []))
    rows = [
        f"| {t['field']} | {t['type']} | {t['required']} | {t['description']} |",
        "|---|---|---|---|",
    ]
    for name, prop in schema.get("properties", {}).items():
        notes = [prop.get("title", ""), prop.get("description", ""), _constraints(prop)]
        if prop.get("readOnly"):
            notes.insert(0, t["read_only"])
        note = "; ".join(n for n in notes if n)
        flag = t["yes"] if name in required and not prop.get("readOnly") else t["no"]
        rows.append(f"| `{name}` | {_type(prop)} | {flag} | {_cell(note)} |")
    return rows


def _body_schema(content: dict[str, Any]) -> dict[str, Any] | None:
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if media else None


def render(schema: dict[str, Any], language: str) -> str:
    t = TEXT[language]
    lines = [
        "---",
        f"title: {t['title']}",  # the nav's label, in this page's language
        "---",
        "",
        "<!-- Generated by docs/_scripts/api_reference.py from the OpenAPI schema. Do not edit. -->",
        "",
        f"# {t['title']}",
        "",
        t["intro"],
        "",
        t["auth"],
        "",
        t["errors"],
        "",
        f"## {t['endpoints']}",
        "",
    ]
    for url, item in schema["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            key = f"{method.upper()} {url}"
            lines += [f"### `{key}`", ""]
            summary = SUMMARY[language].get(key) or op.get("description", "").replace("``", "`")
            if summary:
                lines += [summary, ""]
            secured = any(req for req in op.get("security", [{}]) if req)
            lines += [t["auth_needed"] if secured else t["auth_none"], ""]
            params = op.get("parameters", [])
            if params:
                lines += [
                    f"**{t['parameters']}**",
                    "",
                    f"| {t['name']} | {t['in']} | {t['type']} | {t['required']} | {t['description']} |",
                    "|---|---|---|---|---|",
                ]
                for p in params:
                    req = t["yes"] if p.get("required") else t["no"]
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {req} | "
                        f"{_cell(p.get('description', ''))} |"
                    )
                lines.append("")
            body = op.get("requestBody")
            if body:
                body_schema = _body_schema(body.get("content", {}))
                media = ", ".join(f"`{m}`" for m in body.get("content", {}))
                if body_schema is not None:
                    lines += [f"**{t['body']}**: {_type(body_schema)} ({media})", ""]
            lines += [f"**{t['responses']}**", ""]
            for code, response in op.get("responses", {}).items():
                rs = _body_schema(response.get("content", {}))
                said = _cell(response.get("description", ""))
                if language == "zh" and said:
                    said = ERROR_ANSWERS_ZH.get(code, said)
                what = " — ".join(x for x in (_type(rs) if rs is not None else "", said) if x)
                lines.append(f"- `{code}`: {what or '—'}")
            lines.append("")
    lines += [f"## {t['schemas']}", ""]
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        lines += [f"### {name} {{#{_anchor(name)}}}", ""]
        if "enum" in component:
            lines += [f"{t['values']}:", ""]
            described = component.get("description", "")
            if described:
                lines += [described.replace("\n", "\n"), ""]
            else:
                lines += [", ".join(f"`{v}`" for v in component["enum"]), ""]
            continue
        if component.get("description"):
            lines += [component["description"], ""]
        lines += [*_fields_table(component, t), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_pages() -> list[Path]:
    """Write (only when changed, so `mkdocs serve` does not loop) both languages' pages."""
    OUT_DIR.mkdir(exist_ok=True)
    written = []
    for language in TEXT:
        target = OUT_DIR / f"api.{language}.md"
        text = render(get_schema(language), language)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            # Atomically: two builds at once (two test runs) must not read a half-written page.
            partial = target.with_name(f".{target.name}.{os.getpid()}")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, target)
        written.append(target)
    return written


def on_config(config: Any) -> Any:
    """MkDocs hook: runs before the docs files are collected."""
    logging.getLogger("jieba").setLevel(logging.WARNING)  # the Chinese search's segmenter chats
    write_pages()
    return config


if __name__ == "__main__":
    for page in write_pages():
        print(page.relative_to(ROOT))
