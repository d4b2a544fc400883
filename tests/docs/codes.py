"""Every error code Zhifu can hand to a caller, found by reading the source (``ast``), so that a
code added anywhere in ``src/zhifu`` without a line in the troubleshooting page fails a test.

What counts as a code:
- the ``code`` of every ``ZhifuError`` subclass, the first argument (or ``code=``) of every call
  that raises one, and the keys of ``zhifu.exceptions.DEFAULT_MESSAGES``;
- the API's own codes in ``zhifu/api/errors.py`` (DRF exception mapping, ``error_body(...)`` and
  the codes its helpers return);
- the return page's codes (``_error(request, "<code>", ...)`` in ``zhifu/views.py``);
- the reasons a notification is rejected (``Rejected("<reason>", ...)``, ``_reject(n, "<reason>")``);
- the ids of Zhifu's system checks (``id="zhifu.E001"``).
The protocol layers (``zhifu.alipay``, ``zhifu.wechatpay``, ``zhifu.sandbox``) are not included:
their codes are the gateways' own, documented with the sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "zhifu"
PROTOCOL_DIRS = ("alipay", "wechatpay", "sandbox")


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in PROTOCOL_DIRS or "migrations" in rel.parts:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def error_classes(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """Names of ZhifuError and every class deriving from it (transitively, by name)."""
    bases: dict[str, set[str]] = {}
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    n for n in (_name(b) for b in node.bases) if n
                )
    found = {"ZhifuError"}
    while True:
        more = {cls for cls, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def error_codes() -> dict[str, str]:
    """``{code: "file:line"}`` of every error code (see the module docstring)."""
    modules = list(_modules())
    classes = error_classes(modules)
    codes: dict[str, str] = {}

    def add(value: str | None, path: Path, node: ast.AST) -> None:
        if value:
            codes.setdefault(value, f"{path.relative_to(SRC.parent)}:{getattr(node, 'lineno', 0)}")

    for path, tree in modules:
        is_api_errors = path.relative_to(SRC).as_posix() == "api/errors.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(
                        _name(t) == "code" for t in stmt.targets
                    ):
                        add(_str(stmt.value), path, stmt)
            elif isinstance(node, ast.Call):
                func = _name(node.func)
                if func in classes or func in ("error_body", "Rejected"):
                    first = node.args[0] if node.args else None
                    add(_str(first), path, node)
                    for kw in node.keywords:
                        if kw.arg == "code":
                            add(_str(kw.value), path, node)
                elif func in ("_error", "_reject") and len(node.args) > 1:
                    add(_str(node.args[1]), path, node)
            elif isinstance(node, ast.Assign) and any(
                _name(t) == "DEFAULT_MESSAGES" for t in node.targets
            ):
                if isinstance(node.value, ast.Dict):
                    for key in node.value.keys:
                        add(_str(key), path, node)
            elif isinstance(node, ast.AnnAssign) and _name(node.target) == "DEFAULT_MESSAGES":
                if isinstance(node.value, ast.Dict):
                    for key in node.value.keys:
                        add(_str(key), path, node)
            if is_api_errors:
                if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(
                    node.value, ast.List
                ):
                    for elt in node.value.elts:  # _DRF_CODES: [(DRF exception, code), ...]
                        if isinstance(elt, ast.Tuple) and len(elt.elts) == 2:
                            add(_str(elt.elts[1]), path, elt)
                elif isinstance(node, ast.Return) and isinstance(node.value, ast.IfExp):
                    add(_str(node.value.body), path, node)  # "token_invalid" if ... else None
    return codes


def check_ids() -> dict[str, str]:
    """``{"zhifu.E001": "file:line"}`` of every system check message."""
    ids: dict[str, str] = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    value = _str(kw.value)
                    if kw.arg == "id" and value and value.startswith("zhifu."):
                        ids.setdefault(value, f"{path.relative_to(SRC.parent)}:{node.lineno}")
    return ids


if __name__ == "__main__":
    for code, where in sorted(error_codes().items()):
        print(f"{code:32} {where}")
    for code, where in sorted(check_ids().items()):
        print(f"{code:32} {where}")
