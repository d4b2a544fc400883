from typing import Any

from django.core.management.base import BaseCommand

from zhifu.services.orders import expire_orders


class Command(BaseCommand):
    help = "Expire pending orders past their expiry (closing their trades at Alipay first)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = expire_orders()
        self.stdout.write(f"expired {count} order(s)")
