"""The database goes away under a running site: stopped, then hung (every PostgreSQL process
SIGSTOPped), then back. While it is away no notification may be answered ``success`` (Alipay
would stop retrying a payment the site never recorded); once it is back, Alipay's retries pay
every order exactly once.

The site runs on a throwaway PostgreSQL cluster of its own (``initdb``/``pg_ctl`` on a free port,
in a temporary directory removed at the end), loaded with the suite's migrated database.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.reliability.buyer import Buyers
from tests.reliability.checks import doubles, lost
from tests.reliability.stack import Cluster, Site, create_database


@pytest.fixture
def outage(site: Site, gateway: Any, buyers: Buyers, tmp_path: Path) -> Iterator[Any]:
    cluster = Cluster()
    if cluster.bin is None:
        pytest.skip("no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql")
    own = None
    try:
        cluster.init()
        url = create_database(cluster.url, "zhifu_outage")
        # the suite's migrated database, copied (much faster than migrating again)
        dump = subprocess.run(
            [str(cluster.bin / "pg_dump"), "-Fc", site.env["DATABASE_URL"]],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(
            [str(cluster.bin / "pg_restore"), "--no-owner", "-d", url],
            input=dump,
            capture_output=True,
            check=True,
        )
        own = Site(tmp_path, url, gateway.data_dir, workers=2).start()
        yield Buyers(own, gateway, buyers.pool, buyers.say), cluster
    finally:
        if own is not None:
            own.stop()
        cluster.remove()


def test_database_stopped_then_hung_no_success_while_down_nothing_lost_after(
    outage: tuple[Buyers, Cluster],
) -> None:
    buyers, cluster = outage
    names = [f"b{i}" for i in range(6)]
    rows = buyers.seed(users=names, goods=2)
    everything = [
        buyers.pay(buyers.goods_order(rows["users"][n]["token"], rows["goods"])) for n in names
    ]
    early, purchases = everything[:2], everything[2:]
    forms = [buyers.notification(p) for p in purchases]

    # 0. restarted while the workers hold connections to it: the first request of each worker
    # must not fail on its dead connection
    cluster.stop()
    cluster.start()
    restarted = buyers.deliver([buyers.notify_job(buyers.notification(p)) for p in early] * 2)

    # 1. stopped: nothing listens on its port
    cluster.stop()
    stopped = buyers.deliver(
        [buyers.notify_job(f) for f in forms] + [("get", p.return_url) for p in purchases]
    )
    stopped_notify = stopped.replies[: len(forms)]

    # 2. hung: the server accepts connections and never answers. The site gives up connecting
    # after DATABASE_CONNECT_TIMEOUT (5 s) and answers 503; the client waits 12 s (one delivery
    # per worker, so none waits behind another).
    cluster.start()
    pids = cluster.pause()
    started = time.monotonic()
    try:
        hung = buyers.deliver(
            [("form-12s", (buyers.site.notify_url, f)) for f in forms[: buyers.site.workers]]
        )
    finally:
        cluster.resume(pids)
    hung_for = time.monotonic() - started

    # 3. back: Alipay retries
    assert wait_until(
        lambda: buyers.site.worker_pids() and len(buyers.site.worker_pids()) == 2, timeout=60
    )
    every_form = [buyers.notification(p) for p in everything]
    first_back = buyers.deliver([buyers.notify_job(f) for f in every_form])
    retry = buyers.deliver([buyers.notify_job(f) for f in every_form])
    state = buyers.audit(everything, goods=rows["goods"])
    double = doubles(state, rows["goods"], {})
    missing = lost(state, [p.order for p in everything])
    success_while_down = sum(1 for r in stopped_notify + hung.replies if r == (200, "success"))
    buyers.say(
        f"database outage: {len(everything)} orders; restarted: {restarted.by_status()}; "
        f"stopped: notifications {stopped.by_status()} "
        f"incl. returns, hung: {hung.by_status()} in {hung_for:.0f} s; back: first round "
        f"{first_back.by_status()} {first_back.failures()[:1]}, retry {retry.by_status()}: "
        f"{success_while_down} success while down, {len(double)} double, {len(missing)} lost"
    )
    assert restarted.failures() == [], restarted.failures()[:2]
    assert success_while_down == 0
    assert stopped.unanswered == 0 and hung.unanswered == 0  # an answer, not a hang
    assert first_back.failures() == []
    assert retry.failures() == []
    assert double == []
    assert missing == []
