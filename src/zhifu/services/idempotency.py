"""One submit is one thing: idempotency keys for the API (``Idempotency-Key``) and for one-time
form tokens.

::

    order, created = run_once(
        user=request.user, scope="shop:buy", key=token, fingerprint=fingerprint(form_data),
        create=lambda: create_order_from_skus(request.user, items),
        load=lambda ref: Order.objects.get(out_trade_no=ref),
        ref=lambda order: order.out_trade_no,
    )

The key's row is inserted first, then ``create()`` runs, in ONE transaction. (user, scope, key)
is unique, so of two identical calls racing, the second blocks on that insert until the first
commits (PostgreSQL: the unique index waits for the other transaction; SQLite: the database
write lock), then reads the first one's result: exactly one thing is created. If ``create()``
raises, nothing is kept and the key can be used again.

``create()`` runs inside the transaction: keep it to database work. Calls to a gateway (starting
an Alipay payment) belong after ``run_once`` returns; the API stores its first answer in the
key's ``response`` (:mod:`zhifu.api.idempotency`) so that a retry gets the same answer.

Keys expire after :data:`KEY_LIFETIME` (then a key may be used again). A user's expired keys
are deleted when that user next uses a key; :func:`purge_expired` deletes all of them (for a
site's own periodic job).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..exceptions import IdempotencyConflict, InvalidIdempotencyKey, OrderError
from ..models import IdempotencyKey

__all__ = [
    "KEY_LIFETIME",
    "MAX_KEY_LENGTH",
    "fingerprint",
    "purge_expired",
    "run_once",
    "validate_key",
]

T = TypeVar("T")

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Visible ASCII only: a key travels in an HTTP header or a form field and is shown in the admin.
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")


def validate_key(key: Any) -> str:
    """The key itself, or :class:`InvalidIdempotencyKey` (400) naming what is wrong."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey()
    return key


def fingerprint(data: Any) -> str:
    """A digest of a request's meaning: the same data (whatever the key order) gives the same
    fingerprint. Pass validated data, so that ``"10"`` and ``"10.00"`` are one request."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _user_pk(user: Any) -> Any:
    pk = getattr(user, "pk", None)
    if pk is None or not getattr(user, "is_authenticated", False):
        # Keys belong to a user; anonymous callers cannot create orders anyway.
        raise OrderError("login_required")
    return pk


def _existing(user_pk: Any, scope: str, key: str, now: datetime) -> IdempotencyKey | None:
    # The user's expired keys go first: an expired key is free again (the insert below can
    # succeed), and a user's rows stay bounded without a periodic job.
    IdempotencyKey.objects.filter(user_id=user_pk, expires_at__lte=now).delete()
    return IdempotencyKey.objects.filter(user_id=user_pk, scope=scope, key=key).first()


def _replay(row: IdempotencyKey, fingerprint: str, load: Callable[[str], T]) -> tuple[T, bool]:
    if row.fingerprint != fingerprint:
        raise IdempotencyConflict()
    return load(row.ref), False


def run_once(
    *,
    user: Any,
    scope: str,
    key: str,
    fingerprint: str,
    create: Callable[[], T],
    load: Callable[[str], T],
    ref: Callable[[T], str],
) -> tuple[T, bool]:
    """``(create(), True)`` the first time (user, scope, key) is used; ``(load(ref), False)``
    when it is used again with the same ``fingerprint``; :class:`IdempotencyConflict` (409)
    when it is used again with another. ``ref(result)`` is what is stored to find the result
    again (an out_trade_no, a pk), at most 128 characters."""
    key = validate_key(key)
    user_pk = _user_pk(user)
    now = timezone.now()
    row = _existing(user_pk, scope, key, now)
    if row is not None:
        return _replay(row, fingerprint, load)
    inserted = False
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                user_id=user_pk,
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                expires_at=now + KEY_LIFETIME,
            )
            inserted = True
            result = create()
            row.ref = ref(result)
            row.save(update_fields=["ref"])
    except IntegrityError:
        if inserted:  # not the key's insert: an error of create() itself
            raise
        # Another call with the same key committed first (we waited for it): its result.
        winner = IdempotencyKey.objects.filter(user_id=user_pk, scope=scope, key=key).first()
        if winner is None:  # pragma: no cover - it expired and was purged in between
            raise
        return _replay(winner, fingerprint, load)
    return result, True


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete expired keys; how many were deleted. Run by the periodic jobs."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
