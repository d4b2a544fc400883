from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZhifuConfig(AppConfig):
    name = "zhifu"
    label = "zhifu"
    verbose_name = _("Zhifu payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the system checks
            conf,  # noqa: F401 - connects the setting_changed receiver
            logs,
        )

        logs.install()  # signatures, keys and tokens never reach a log
