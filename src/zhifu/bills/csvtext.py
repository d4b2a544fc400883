"""Reading the gateways' bill CSV text: sections of a header row and data rows, amounts, times.

Shared by the Alipay and WeChat parsers (no Django, no gateway words)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..money import AmountError, parse_money
from .lines import BillFormatError

__all__ = ["BEIJING", "Row", "Section", "parse_time", "read_sections", "yuan"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Row:
    """One data row: its cells by column name, and where it was (``file:line``)."""

    cells: dict[str, str]
    where: str

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def require(self, column: str) -> str:
        if column not in self.cells:
            raise BillFormatError(f"{self.where}: no column {column!r}")
        return self.cells[column]


@dataclass(frozen=True)
class Section:
    """A header row and the data rows under it."""

    header: tuple[str, ...]
    rows: tuple[Row, ...]
    line: int  # the header's line number


def _cells(line: str, strip: Callable[[str], str]) -> list[str]:
    return [strip(cell) for cell in next(csv.reader([line]))]


def read_sections(
    text: str,
    name: str,
    *,
    is_header: Callable[[list[str]], bool],
    strip: Callable[[str], str] = str.strip,
) -> Iterator[Section]:
    """Split ``text`` into sections: a row for which ``is_header`` holds starts one; lines
    starting with ``#`` (comments, footers) and blank lines end the rows of a section."""
    header: list[str] | None = None
    rows: list[Row] = []
    start = 0
    for number, raw in enumerate(io.StringIO(text), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            if header is not None:
                yield Section(tuple(header), tuple(rows), start)
                header, rows = None, []
            continue
        try:
            cells = _cells(line, strip)
        except csv.Error as exc:
            raise BillFormatError(f"{name}:{number}: not CSV ({exc})") from None
        if is_header(cells):
            if header is not None:
                yield Section(tuple(header), tuple(rows), start)
            header, rows, start = cells, [], number
            continue
        if header is None:
            raise BillFormatError(f"{name}:{number}: a data row before any header row")
        if len(cells) < len(header):
            cells += [""] * (len(header) - len(cells))
        rows.append(Row(dict(zip(header, cells, strict=False)), f"{name}:{number}"))
    if header is not None:
        yield Section(tuple(header), tuple(rows), start)


def yuan(text: str, where: str, column: str, *, signed: bool = True) -> Decimal:
    """An amount in yuan as the bills write it (``"12.30"``, ``"-0.01"``, ``"0.06000"``;
    empty is zero), to two places. More than two decimals (WeChat's fees) round half up."""
    value = text.strip()
    if not value:
        return Decimal("0.00")
    negative = value.startswith("-")
    magnitude = value[1:] if negative else value
    if negative and not signed:
        raise BillFormatError(f"{where}: {column} {text!r} is negative")
    try:
        number = parse_money(magnitude, field=column)
    except AmountError as exc:
        try:
            exact = Decimal(magnitude)
        except InvalidOperation:
            raise BillFormatError(f"{where}: {exc}") from None
        if not exact.is_finite() or exact < 0 or magnitude.lower().count("e"):
            raise BillFormatError(f"{where}: {exc}") from None
        number = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return -number if negative else number


def parse_time(text: str, where: str, column: str) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time (empty: None)."""
    value = text.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise BillFormatError(
            f"{where}: {column} {text!r} is not a time 'yyyy-MM-dd HH:mm:ss'"
        ) from None
