"""The load client: a separate process that sends prepared HTTP requests over loopback.

Run by bench/run.py, never by hand: ``python bench/loadgen.py SPEC.json`` where the spec is
``{"host", "port", "concurrency", "seconds", "max_requests", "cycle", "expect_status",
"expect_body", "requests": [<raw HTTP/1.1 request as latin-1 text>, ...]}``. Each request
opens its own connection (gunicorn's sync workers close it after every response). With
``cycle`` the requests are sent round and round; without it each is sent once (one
notification per pending order). The run stops at ``seconds`` or ``max_requests``, whichever
comes first. Prints one JSON line: counts, rate, latency percentiles (ms), unexpected answers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _send(host: str, port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await reader.read()  # the sync worker closes the connection after the answer
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, body


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    requests = [r.encode("latin-1") for r in spec["requests"]]
    host, port = spec["host"], int(spec["port"])
    cycle = bool(spec.get("cycle"))
    limit = int(spec.get("max_requests") or 10**9)
    if not cycle:
        limit = min(limit, len(requests))
    expect_status = int(spec.get("expect_status", 200))
    expect_body = spec.get("expect_body")
    expect = expect_body.encode() if expect_body else None
    latencies: list[float] = []
    unexpected: dict[str, int] = {}
    samples: list[str] = []
    next_index = 0
    start = time.perf_counter()
    deadline = start + float(spec["seconds"])

    async def worker() -> None:
        nonlocal next_index
        while time.perf_counter() < deadline and next_index < limit:
            raw = requests[next_index % len(requests)]
            next_index += 1
            t0 = time.perf_counter()
            try:
                status, body = await _send(host, port, raw)
            except OSError as exc:
                status, body = 0, str(exc).encode()
            elapsed = time.perf_counter() - t0
            if status == expect_status and (expect is None or body.startswith(expect)):
                latencies.append(elapsed * 1000)
            else:
                key = str(status)
                unexpected[key] = unexpected.get(key, 0) + 1
                if len(samples) < 3:
                    samples.append(body[:300].decode("utf-8", "replace"))

    await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "ok": len(latencies),
        "unexpected": unexpected,
        "unexpected_samples": samples,
        "sent": next_index,
        "seconds": wall,
        "rate": len(latencies) / wall if wall > 0 else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "latencies_ms": [round(x, 2) for x in latencies],
    }


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
