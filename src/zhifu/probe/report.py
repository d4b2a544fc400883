"""What a probe found: one line per check, as text or JSON, and the exit status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .transport import Answer

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "CheckResult",
    "EndpointReport",
    "exit_status",
    "footer_lines",
    "header_line",
    "render_json",
    "render_text",
]

# As zhifu.cli's EXIT_* (not imported from there: zhifu.cli imports this package).
EXIT_OK = 0  # every check that ran passed
EXIT_FAILED = 1  # a check failed
EXIT_UNUSABLE = 2  # unusable input, or the endpoint cannot be reached

Status = Literal["PASS", "FAIL", "SKIP"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    answers: tuple[Answer, ...] = ()
    out_trade_no: str = ""

    @property
    def times(self) -> str:
        return ", ".join(f"{a.ms:.0f} ms" for a in self.answers)

    def line(self) -> str:
        suffix = f" ({self.times})" if self.answers else ""
        return f"{self.status} {self.name}: {self.detail}{suffix}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "out_trade_no": self.out_trade_no or None,
            "answers": [
                {
                    "status": a.status,
                    "body": a.body,
                    "ms": round(a.ms, 1),
                    "timed_out": a.timed_out,
                    **({"location": a.location} if a.location else {}),
                }
                for a in self.answers
            ],
        }


@dataclass
class EndpointReport:
    url: str
    provider: str
    signing: str  # where the signing key came from, or why there is none
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def failed(self) -> bool:
        return self.count("FAIL") > 0

    def out_trade_nos(self) -> list[str]:
        return sorted({c.out_trade_no for c in self.checks if c.out_trade_no})

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "provider": self.provider,
            "signing": self.signing,
            "passed": self.count("PASS"),
            "failed": self.count("FAIL"),
            "skipped": self.count("SKIP"),
            "checks": [c.as_json() for c in self.checks],
            "out_trade_nos": self.out_trade_nos(),
            "notes": list(self.notes),
        }


def exit_status(reports: list[EndpointReport]) -> int:
    return EXIT_FAILED if any(r.failed for r in reports) else EXIT_OK


def header_line(url: str, provider: str, signing: str) -> str:
    return f"zhifu probe: {url} ({provider}; signing: {signing})"


def footer_lines(report: EndpointReport) -> list[str]:
    """What follows the checks: notes, the trade numbers sent, the totals."""
    lines = [f"note: {note}" for note in report.notes]
    numbers = report.out_trade_nos()
    if numbers:
        lines.append("made-up trade numbers sent: " + ", ".join(numbers))
    lines.append(
        f"{report.count('PASS')} passed, {report.count('FAIL')} failed, "
        f"{report.count('SKIP')} skipped"
    )
    return lines


def render_text(reports: list[EndpointReport]) -> str:
    lines: list[str] = []
    for report in reports:
        if lines:
            lines.append("")
        lines.append(header_line(report.url, report.provider, report.signing))
        lines.extend(check.line() for check in report.checks)
        lines.extend(footer_lines(report))
    return "\n".join(lines)


def render_json(reports: list[EndpointReport]) -> str:
    return json.dumps(
        {"endpoints": [r.as_json() for r in reports], "exit_status": exit_status(reports)},
        ensure_ascii=False,
        indent=2,
    )
