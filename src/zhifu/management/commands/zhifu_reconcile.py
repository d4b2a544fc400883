from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from zhifu.services.reconcile import reconcile_payments


class Command(BaseCommand):
    help = (
        "Ask the gateways about payments that are due for a check (or all open ones with --all), "
        "and process stored notifications that were never processed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="query every open attempt now, whatever its schedule (e.g. after an outage)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile_payments(everything=options["all"])
        self.stdout.write(
            f"checked {report.checked} payment(s); {report.paid} order(s) newly paid; "
            f"{report.errors} could not be checked; "
            f"{report.swept} stored notification(s) processed late"
        )
        for out_trade_no in report.orders:
            self.stdout.write(f"  paid: {out_trade_no}")
