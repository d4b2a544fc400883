"""Database round trips of one request, counted in process with Django's query capture.

A round trip is one statement sent to the server: SELECT, INSERT, UPDATE, SAVEPOINT, RELEASE,
and the BEGIN and COMMIT (or ROLLBACK) of each transaction. Django's capture lists BEGIN and
COMMIT on the versions the project supports; if it did not, they are added from the number of
commits and rollbacks counted here.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def count_round_trips(call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run ``call()``; return its result and ``{"round_trips", "statements", "transactions",
    "by_kind", "for_update", "sql"}``."""
    ends = 0
    commit, rollback = connection._commit, connection._rollback

    def counted_commit() -> Any:
        nonlocal ends
        ends += 1
        return commit()

    def counted_rollback() -> Any:
        nonlocal ends
        ends += 1
        return rollback()

    sites: list[str] = []

    def where(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sites.append(_call_site(sql))
        return execute(sql, params, many, context)

    connection._commit, connection._rollback = counted_commit, counted_rollback  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(where):
            result = call()
    finally:
        del connection._commit, connection._rollback
    sql = [q["sql"] for q in captured.captured_queries]
    kinds = Counter(s.split(None, 1)[0].upper() for s in sql if s.strip())
    captured_ends = kinds["BEGIN"] + kinds["COMMIT"] + kinds["ROLLBACK"]
    return result, {
        "round_trips": len(sql) + max(0, 2 * ends - captured_ends),
        "statements": len(sql),
        "transactions": ends,
        "by_kind": dict(kinds),
        "for_update": sum("FOR UPDATE" in s for s in sql),
        "sql": sql,
        "sites": sites,
    }


def _call_site(sql: str) -> str:
    """``<kind> <table>: <innermost project file:line> <- <its caller>`` of a statement."""
    words = sql.split()
    kind = words[0].upper() if words else "?"
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"([^"]+)"', sql)
    table = match[1] if match else ""
    sites = []
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = frame.filename
        for root in ("/src/", "/demo/", "/bench/bench_site/"):
            if root in path:
                rest = path.split(root, 1)[1]
                short = rest if root == "/src/" else root.strip("/") + "/" + rest
                sites.append(f"{short}:{frame.lineno} {frame.name}")
                break
        if len(sites) == 2:  # where it is sent, and who asked
            break
    return f"{kind} {table}: {' <- '.join(sites)}"


def main() -> int:
    """Print the round trips of one checkout and one notification (Zhifu and the references),
    each statement with the line that sends it, as ``make bench`` counts them."""
    import sys
    from pathlib import Path

    bench_dir = Path(__file__).resolve().parent
    sys.path[:0] = [str(bench_dir), str(bench_dir.parent / "demo")]
    from run import prepare
    from stack import Stack

    stack = Stack(workers=1)
    try:
        stack.create_database()
        stack.start_sandbox()
        world = prepare(stack)
        for key, c in world.round_trips.items():
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(c["by_kind"].items()))
            print(
                f"{key}: {c['round_trips']} round trips ({c['statements']} statements: {kinds}; "
                f"{c['transactions']} transactions; {c['for_update']} FOR UPDATE)"
            )
            if key.endswith("_zhifu"):
                sites = iter(c["sites"])
                for sql in c["sql"]:
                    if sql.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
                        print(f"    {sql}")
                    else:
                        print(f"    {next(sites, '?')}\n        {sql[:240]}")
        from django.db import connections

        connections.close_all()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
