from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhifu.bills.reconcile import reconcile_bills
from zhifu.exceptions import ConfigurationError


class Command(BaseCommand):
    help = (
        "Compare the gateways' daily bills with the site's payments, refunds and ledger; one "
        "reconciliation report per provider and day (see the admin). A day already reconciled "
        "is left as it is unless --replace."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date",
            help="the bill date, YYYY-MM-DD in Beijing time (default: yesterday)",
        )
        parser.add_argument(
            "--provider",
            help="only this provider (default: every configured provider that has bills)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="reconcile again a day that has a finished report (its discrepancies are "
            "recomputed; those already applied are kept)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']!r} is not a date: use YYYY-MM-DD"
                ) from None
        try:
            outcomes = reconcile_bills(
                day, provider=options["provider"], replace=options["replace"]
            )
        except ConfigurationError as exc:
            raise CommandError(str(exc.message)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not outcomes:
            self.stdout.write("no configured provider has daily bills")
        failed = []
        for outcome in outcomes:
            report = outcome.report
            count = report.discrepancies.count()
            if not outcome.ran:
                why = {"done": "already reconciled (use --replace to run again)"}.get(
                    outcome.reason, "another run is under way"
                )
                self.stdout.write(
                    f"{report.provider} {report.bill_date}: {why}; "
                    f"{report.status}, {count} discrepancy(ies)"
                )
                continue
            if report.status == report.Status.FAILED:
                failed.append(f"{report.provider} {report.bill_date}: {report.error}")
                continue
            self.stdout.write(
                f"{report.provider} {report.bill_date}: {report.status}; "
                f"{report.bill_payments} payment(s) and {report.bill_refunds} refund(s) in the "
                f"bill; {count} discrepancy(ies)"
            )
            for item in report.discrepancies.all():
                self.stdout.write(
                    f"  {item.kind}: {item.out_trade_no or '-'}"
                    f"{' ' + item.out_refund_no if item.out_refund_no else ''} "
                    f"({item.resolution}) {item.detail}"
                )
        if failed:
            raise CommandError("bill not reconciled: " + "; ".join(failed))
