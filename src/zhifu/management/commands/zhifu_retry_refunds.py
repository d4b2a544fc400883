from typing import Any

from django.core.management.base import BaseCommand

from zhifu.services.refunds import retry_refunds


class Command(BaseCommand):
    help = "Send again (same out_request_no) refunds whose outcome is unknown."

    def handle(self, *args: Any, **options: Any) -> None:
        count = retry_refunds()
        self.stdout.write(f"{count} refund(s) succeeded")
