"""The demo's settings, unchanged (DEBUG off, PostgreSQL from DATABASE_URL), plus the bench-only
reference views under /bench/ (``bench_site.urls``). Nothing here is part of the demo."""

from demo_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench_site.urls"
