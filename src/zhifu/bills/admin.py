"""Admin for reconciliation reports (imported by zhifu.admin): each report with its
discrepancies and the bill lines that caused them. View-only: the job writes them."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..admin import ReadOnlyInline, ViewOnlyAdmin
from .models import Discrepancy, ReconciliationReport


def _lines_html(item: Discrepancy) -> Any:
    if not item.lines:
        return "-"
    shown = [{k: v for k, v in line.items() if k != "raw"} for line in item.lines]
    return format_html(
        '<pre class="zhifu-bill-lines">{}</pre>',
        json.dumps(shown, ensure_ascii=False, indent=1),
    )


class DiscrepancyInline(ReadOnlyInline):
    model = Discrepancy
    fields = (
        "kind",
        "out_trade_no",
        "out_refund_no",
        "bill_amount",
        "site_amount",
        "resolution",
        "detail",
        "bill_lines",
    )
    readonly_fields = fields

    @admin.display(description=_("bill lines"))
    def bill_lines(self, item: Discrepancy) -> Any:
        return _lines_html(item)


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ViewOnlyAdmin):
    list_display = (
        "bill_date",
        "provider",
        "status",
        "discrepancy_count",
        "bill_payments",
        "bill_refunds",
        "bill_fee_total",
        "finished_at",
    )
    list_filter = ("status", "provider")
    date_hierarchy = "bill_date"
    readonly_fields = [f.name for f in ReconciliationReport._meta.concrete_fields if f.name != "id"]
    inlines = [DiscrepancyInline]

    @admin.display(description=_("discrepancies"))
    def discrepancy_count(self, report: ReconciliationReport) -> int:
        return report.discrepancies.count()


@admin.register(Discrepancy)
class DiscrepancyAdmin(ViewOnlyAdmin):
    list_display = (
        "report",
        "kind",
        "out_trade_no",
        "out_refund_no",
        "bill_amount",
        "site_amount",
        "resolution",
    )
    list_filter = ("kind", "resolution", "report__provider")
    search_fields = ("out_trade_no", "out_refund_no", "gateway_trade_no")
    readonly_fields = [
        *(f.name for f in Discrepancy._meta.concrete_fields if f.name not in ("id", "lines")),
        "bill_lines",
    ]

    @admin.display(description=_("bill lines"))
    def bill_lines(self, item: Discrepancy) -> Any:
        return _lines_html(item)
