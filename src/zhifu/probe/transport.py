"""Sending one message to the endpoint and timing the answer.

A refused connection, a bad host or a TLS failure is :class:`Unreachable` (the run stops: the
probe cannot say anything about an endpoint it cannot reach); no answer within the timeout is an
:class:`Answer` with ``timed_out`` set (the endpoint is there but too slow: a finding).
Redirects are not followed: Alipay and WeChat Pay do not follow them either.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from .errors import ProbeInputError, Unreachable

__all__ = ["USER_AGENT", "Answer", "Message", "check_url", "send", "send_together"]

USER_AGENT = "Mozilla/4.0 (zhifu probe; notify endpoint self-test)"
BODY_KEPT = 500  # characters of an answer's body kept for the report


@dataclass(frozen=True)
class Message:
    """What is posted: the raw body and the headers."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (timed out)
    body: str
    ms: float
    location: str = ""  # of a redirect
    timed_out: bool = False

    def short(self) -> str:
        """``400 "fail"``, ``204 (empty)``, ``no answer within 10 s``."""
        if self.status is None:
            return "no answer"
        text = self.body.strip()
        if not text:
            return f"{self.status} (empty body)"
        if len(text) > 80:
            text = text[:77] + "..."
        return (
            f'{self.status} "{text}"' if "\n" not in text else f"{self.status} ({len(text)} chars)"
        )


def check_url(url: str) -> str:
    """The URL if it can be probed, else :class:`ProbeInputError` saying why."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeInputError(f"{url!r} is not an http:// or https:// URL")
    return url


def _transport_error(url: str, exc: httpx.HTTPError) -> Unreachable:
    reason = str(exc) or type(exc).__name__
    return Unreachable(f"cannot reach {url}: {reason}")


def send(client: httpx.Client, url: str, message: Message) -> Answer:
    """POST ``message`` and time the answer (to its last byte)."""
    headers = {"User-Agent": USER_AGENT, **message.headers}
    started = time.perf_counter()
    try:
        response = client.post(url, content=message.body, headers=headers)
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout):
            raise _transport_error(url, exc) from None
        return Answer(None, "", (time.perf_counter() - started) * 1000, timed_out=True)
    except httpx.HTTPError as exc:
        raise _transport_error(url, exc) from None
    ms = (time.perf_counter() - started) * 1000
    body = response.content.decode("utf-8", "replace")[:BODY_KEPT]
    location = response.headers.get("location", "") if response.is_redirect else ""
    return Answer(response.status_code, body, ms, location)


def send_together(
    client: httpx.Client, url: str, message: Message, copies: int = 2
) -> list[Answer]:
    """The same message ``copies`` times at the same moment (threads released by a barrier)."""
    barrier = threading.Barrier(copies)
    answers: list[Answer | None] = [None] * copies
    errors: list[Unreachable] = []

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            answers[i] = send(client, url, message)
        except Unreachable as exc:
            errors.append(exc)
        except threading.BrokenBarrierError:
            pass

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    done = [a for a in answers if a is not None]
    if len(done) != copies:  # pragma: no cover - only if a thread could not start in 30 s
        raise Unreachable(f"could not send {copies} copies at once to {url}")
    return done
