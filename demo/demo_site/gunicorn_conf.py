"""gunicorn settings of the demo: ``gunicorn -c demo_site/gunicorn_conf.py demo_site.wsgi``
(from ``demo/``). The access log goes to stdout with every field redacted like Zhifu's own logs:
Alipay's browser return URL carries ``sign=…`` in its query string (and in the next page's
Referer), which gunicorn's plain access log would print as is."""

from __future__ import annotations

import datetime
from typing import Any

from gunicorn.glogging import Logger

from zhifu.logs import redact


class RedactingLogger(Logger):  # type: ignore[misc]
    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta
    ) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}


logger_class = RedactingLogger
accesslog = "-"
