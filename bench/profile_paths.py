"""Where a notification's and a checkout's time goes, in process, under cProfile.

Run:  .venv/bin/python bench/profile_paths.py [--count 200] [--top 25]

Starts the database and the sandbox as bench/run.py does (no gunicorn: requests go through
Django's test client in this process, the demo's settings and middleware), sends ``--count``
notifications for distinct pending orders and ``--count`` checkouts to Zhifu and to the minimal
durable references, and prints for each: wall time per request, the share spent waiting in the
PostgreSQL driver, in RSA, and the functions of zhifu/ and demo/ with the most cumulative time
(file:line). Writes bench/results/profile_<path>.pstats for a closer look (``python -m pstats``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent / "demo")]

from run import prepare  # noqa: E402
from stack import Stack  # noqa: E402

# cProfile entries whose cumulative time is "waiting in the driver" and "RSA".
DRIVER = ("psycopg/cursor.py", "execute")
DRIVER_COMMIT = ("psycopg/connection.py", "commit")
RSA = ("cryptography", "verify")
RSA_SIGN = ("cryptography", "sign")


def _cumulative(stats: pstats.Stats, where: tuple[str, str]) -> float:
    total = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if (where[0] in filename and name == where[1]) or (
            where[0] in name and f"'{where[1]}'" in name
        ):
            total += ct
    return total


def profile(name: str, calls: list[Callable[[], Any]], top: int) -> dict[str, Any]:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for call in calls:
        call()
    profiler.disable()
    wall = time.perf_counter() - started
    out = BENCH_DIR / "results" / f"profile_{name}.pstats"
    out.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out)
    stats = pstats.Stats(profiler)
    driver = _cumulative(stats, DRIVER) + _cumulative(stats, DRIVER_COMMIT)
    rsa = _cumulative(stats, RSA) + _cumulative(stats, RSA_SIGN)
    per = wall / len(calls) * 1000
    print(f"\n== {name}: {len(calls)} requests, {per:.2f} ms each (under the profiler)")
    print(f"   waiting in the PostgreSQL driver (execute + commit): {driver / wall:5.1%}")
    print(f"   RSA (cryptography sign/verify):                      {rsa / wall:5.1%}")
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/src/zhifu/" in filename or "/demo/" in filename or "/bench/bench_site/" in filename:
            short = (
                filename.split("/src/")[-1] if "/src/" in filename else filename.split("/main/")[-1]
            )
            rows.append((ct, tt, nc, f"{short}:{line} {func}"))
    rows.sort(reverse=True)
    print(
        f"   {'cum %':>6} {'self %':>6} {'calls':>7}  function (project code, by cumulative time)"
    )
    for ct, tt, nc, label in rows[:top]:
        print(f"   {ct / wall:6.1%} {tt / wall:6.1%} {nc:>7}  {label}")
    return {"ms_per_request": per, "driver_share": driver / wall, "rsa_share": rsa / wall}


def timed(name: str, batches: list[list[Callable[[], Any]]]) -> dict[str, Any]:
    """CPU (of this process: Django, the driver, logging) and wall time per request, without a
    profiler; the best of the batches."""
    cpu, wall = [], []
    for calls in batches:
        c0, w0 = time.process_time(), time.perf_counter()
        for call in calls:
            call()
        cpu.append((time.process_time() - c0) / len(calls) * 1000)
        wall.append((time.perf_counter() - w0) / len(calls) * 1000)
    print(
        f"== {name}: CPU {min(cpu):.2f} ms, wall {min(wall):.2f} ms per request (best of {len(batches)})"
    )
    return {"cpu_ms": min(cpu), "wall_ms": min(wall)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--time-only",
        action="store_true",
        help="no profiler: CPU and wall time per request, best of 2 batches of --count",
    )
    args = parser.parse_args()
    stack = Stack(workers=1)
    try:
        stack.create_database()
        stack.start_sandbox()
        world = prepare(stack)
        from django.test import Client

        client = Client()
        form = "application/x-www-form-urlencoded"

        def notify_calls(path: str, tag: str) -> list[Callable[[], Any]]:
            requests = world.notify_requests(path, f"P{tag}", args.count)
            bodies = [r.split("\r\n\r\n", 1)[1].encode("latin-1") for r in requests]
            return [lambda b=b: client.post(path, b, content_type=form) for b in bodies]

        def checkout_calls(path: str) -> list[Callable[[], Any]]:
            token = world.tokens[2]
            body = {"items": [{"sku": world.goods_sku, "quantity": 1}], "channel": "alipay_page"}
            return [
                lambda: client.post(
                    path,
                    body,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}",
                )
            ] * args.count

        if args.time_only:
            for tag, path in (("z", "/zhifu/alipay/notify/"), ("r", "/bench/ref/notify/")):
                batches = [notify_calls(path, f"{tag}{i}") for i in range(2)]
                timed(f"notify {path}", batches)
            for path in ("/api/orders/", "/bench/ref/checkout/"):
                timed(f"checkout {path}", [checkout_calls(path) for _ in range(2)])
        else:
            profile("notify_zhifu", notify_calls("/zhifu/alipay/notify/", "z"), args.top)
            profile("notify_ref", notify_calls("/bench/ref/notify/", "r"), args.top)
            profile("checkout_zhifu", checkout_calls("/api/orders/"), args.top)
            profile("checkout_ref", checkout_calls("/bench/ref/checkout/"), args.top)
        from django.db import connections

        connections.close_all()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
