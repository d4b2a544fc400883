from typing import Any

from django.core.management.base import BaseCommand

from zhifu.withdrawals.services import retry_withdrawals


class Command(BaseCommand):
    help = (
        "Settle withdrawals whose outcome is unknown (query the gateway; resend the same number)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = retry_withdrawals()
        self.stdout.write(
            f"checked {report.checked} withdrawal(s): {report.succeeded} paid out, "
            f"{report.failed} failed, {report.unknown} still unknown"
        )
