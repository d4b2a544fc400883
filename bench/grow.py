"""Fill Zhifu's own tables fast, on the server: ``INSERT … SELECT … generate_series``.

Every row is a copy of a *template* row made through Zhifu's real services (an order created
from a SKU with its line, its payment attempt and, for paid orders, its applied notification),
with the columns that must differ (numbers, owners, times, foreign keys) rewritten. The column
lists come from the database, so the copies keep up with schema changes.
"""

from __future__ import annotations

from typing import Any

from django.db import connection


def _columns(table: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = current_schema() "
            "ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in cur.fetchall() if row[0] != "id"]


def _select(table: str, alias: str, overrides: dict[str, str]) -> tuple[str, str]:
    """The column list of ``table`` and the SELECT list copying ``alias``'s row with
    ``overrides`` (SQL expressions) in place of some columns."""
    cols = _columns(table)
    unknown = set(overrides) - set(cols)
    if unknown:
        raise RuntimeError(f"{table} has no column(s) {sorted(unknown)}")
    names = ", ".join(f'"{c}"' for c in cols)
    exprs = ", ".join(overrides.get(c, f'{alias}."{c}"') for c in cols)
    return names, exprs


def clone_pending(template: Any, prefix: str, count: int) -> list[tuple[str, str]]:
    """``count`` pending orders like ``template`` (a pending order with one pending attempt),
    numbered ``<prefix><n>``; returns ``[(attempt out_trade_no, amount)]``."""
    attempt = template.attempts.get()
    o_cols, o_sel = _select(
        "zhifu_order",
        "t",
        {
            "out_trade_no": "%(prefix)s || g",
            "created_at": "now()",
            "updated_at": "now()",
            "expires_at": "now() + interval '1 day'",
        },
    )
    l_cols, l_sel = _select("zhifu_orderline", "t", {"order_id": "o.id"})
    a_cols, a_sel = _select(
        "zhifu_paymentattempt",
        "t",
        {
            "order_id": "o.id",
            "out_trade_no": "o.out_trade_no || '_1'",
            "created_at": "now()",
            "updated_at": "now()",
        },
    )
    sql = f"""
        WITH o AS (
            INSERT INTO zhifu_order ({o_cols})
            SELECT {o_sel} FROM zhifu_order t, generate_series(1, %(count)s) g
            WHERE t.id = %(order)s
            RETURNING id, out_trade_no
        ), l AS (
            INSERT INTO zhifu_orderline ({l_cols})
            SELECT {l_sel} FROM o, zhifu_orderline t WHERE t.order_id = %(order)s
        )
        INSERT INTO zhifu_paymentattempt ({a_cols})
        SELECT {a_sel} FROM o, zhifu_paymentattempt t WHERE t.id = %(attempt)s
        RETURNING out_trade_no, amount::text
    """
    with connection.cursor() as cur:
        cur.execute(
            sql, {"prefix": prefix, "count": count, "order": template.pk, "attempt": attempt.pk}
        )
        return [(row[0], row[1]) for row in cur.fetchall()]


def add_users(prefix: str, count: int) -> list[int]:
    """``count`` users who cannot log in (unusable password), named ``<prefix><n>``."""
    cols, sel = _select(
        "auth_user",
        "t",
        {
            "username": "%(prefix)s || g",
            "password": "'!'",
            "email": "''",
            "first_name": "''",
            "last_name": "''",
            "is_staff": "false",
            "is_superuser": "false",
            "is_active": "true",
            "last_login": "NULL",
            "date_joined": "now()",
        },
    )
    # Any existing row serves as the template: every column is overridden or copied.
    sql = f"""
        INSERT INTO auth_user ({cols})
        SELECT {sel} FROM (SELECT * FROM auth_user ORDER BY id LIMIT 1) t,
            generate_series(1, %(count)s) g
        RETURNING id
    """
    with connection.cursor() as cur:
        cur.execute(sql, {"prefix": prefix, "count": count})
        return sorted(row[0] for row in cur.fetchall())


def clone_paid_history(
    template: Any, notification: Any, prefix: str, first_user: int, users: int, count: int
) -> None:
    """``count`` paid orders (order, line, succeeded attempt, applied notification) like
    ``template``, owned in turn by users ``first_user .. first_user + users - 1`` (ids made by
    :func:`add_users`, consecutive), created over the past year, one every 30 s, older first."""
    attempt = template.attempts.get()
    when = "now() - (%(count)s - g) * interval '30 seconds' - interval '1 hour'"
    o_cols, o_sel = _select(
        "zhifu_order",
        "t",
        {
            "out_trade_no": "%(prefix)s || g",
            "user_id": "%(first_user)s + (g %% %(users)s)",
            "created_at": when,
            "updated_at": when,
            "paid_at": when,
            "expires_at": f"{when} + interval '30 minutes'",
        },
    )
    l_cols, l_sel = _select("zhifu_orderline", "t", {"order_id": "o.id"})
    a_cols, a_sel = _select(
        "zhifu_paymentattempt",
        "t",
        {
            "order_id": "o.id",
            "out_trade_no": "o.out_trade_no || '_1'",
            "trade_no": "'2025' || o.id",
            "created_at": "o.created_at",
            "updated_at": "o.created_at",
            "paid_at": "o.created_at",
        },
    )
    n_cols, n_sel = _select(
        "zhifu_notification",
        "t",
        {
            "order_id": "a.order_id",
            "attempt_id": "a.id",
            "out_trade_no": "a.out_trade_no",
            "event_id": "'n-' || a.out_trade_no",
            "body_sha256": "md5(a.out_trade_no) || md5(a.out_trade_no)",
            "received_at": "a.created_at",
            "processed_at": "a.created_at",
        },
    )
    sql = f"""
        WITH o AS (
            INSERT INTO zhifu_order ({o_cols})
            SELECT {o_sel} FROM zhifu_order t, generate_series(%(start)s, %(stop)s) g
            WHERE t.id = %(order)s
            RETURNING id, out_trade_no, created_at
        ), l AS (
            INSERT INTO zhifu_orderline ({l_cols})
            SELECT {l_sel} FROM o, zhifu_orderline t WHERE t.order_id = %(order)s
        ), a AS (
            INSERT INTO zhifu_paymentattempt ({a_cols})
            SELECT {a_sel} FROM o, zhifu_paymentattempt t WHERE t.id = %(attempt)s
            RETURNING id, order_id, out_trade_no, created_at
        )
        INSERT INTO zhifu_notification ({n_cols})
        SELECT {n_sel} FROM a, zhifu_notification t WHERE t.id = %(notification)s
    """
    batch = 100_000
    with connection.cursor() as cur:
        for start in range(1, count + 1, batch):
            cur.execute(
                sql,
                {
                    "prefix": prefix,
                    "count": count,
                    "start": start,
                    "stop": min(count, start + batch - 1),
                    "first_user": first_user,
                    "users": users,
                    "order": template.pk,
                    "attempt": attempt.pk,
                    "notification": notification.pk,
                },
            )
        cur.execute("ANALYZE")


def no_statement_timeout() -> None:
    """Growing takes minutes per statement: lift the site's statement timeout for this
    (the bench's own) connection."""
    with connection.cursor() as cur:
        cur.execute("SET statement_timeout = 0")


def order_count() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM zhifu_order")
        return int(cur.fetchone()[0])
