from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = _("Demo site")

    def ready(self) -> None:
        from . import fulfilment  # noqa: F401  (connects the order signal handlers)
