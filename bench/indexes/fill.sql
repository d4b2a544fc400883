INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '', false, 'u' || g, '', '', '', false, true, now() FROM generate_series(1, 2000) g;
INSERT INTO zhifu_order (out_trade_no, kind, subject, currency, total_amount, refunded_amount, status, expires_at, paid_at, created_at, updated_at, needs_attention, attention_reason, metadata, user_id)
SELECT 'Z' || lpad(g::text, 20, '0'), 'goods', 's', 'CNY', 10, 0,
  CASE WHEN g % 50 = 0 THEN 'pending' WHEN g % 20 = 0 THEN 'expired' ELSE 'paid' END,
  now() - interval '1 day' * (200000 - g) / 2000 + interval '30 minutes',
  CASE WHEN g % 20 <> 0 THEN now() - interval '1 day' * (200000 - g) / 2000 END,
  now() - interval '1 day' * (200000 - g) / 2000, now(), g % 997 = 0, '', '{}',
  (SELECT min(id) FROM auth_user) + g % 2000
FROM generate_series(1, 200000) g;
INSERT INTO zhifu_paymentattempt (provider, channel, out_trade_no, trade_no, amount, status, buyer_id, paid_at, closed_at, closed_at_gateway, qr_code, raw, check_count, next_check_at, last_checked_at, created_at, updated_at, order_id)
SELECT 'alipay', 'alipay_page', o.out_trade_no || '_1', '', 10,
  CASE o.status WHEN 'paid' THEN 'succeeded' WHEN 'pending' THEN 'pending' ELSE 'closed' END, '', o.paid_at, NULL, o.status <> 'expired', '', '{}', 0,
  CASE WHEN o.status = 'pending' THEN o.created_at + interval '5 minutes' END, NULL, o.created_at, now(), o.id
FROM zhifu_order o;
INSERT INTO zhifu_notification (provider, received_at, remote_addr, headers, body, event_id, out_trade_no, state, outcome, reason, detail, processed_at, process_count, order_id, attempt_id, body_sha256, body_size)
SELECT 'alipay', a.paid_at, '127.0.0.1', '{}', repeat('x', 900), md5(a.id::text), a.out_trade_no, 'TRADE_SUCCESS',
  CASE WHEN a.id % 5000 = 0 THEN 'received' WHEN a.id % 3 = 0 THEN 'duplicate' ELSE 'applied' END, '', '', a.paid_at, 1, a.order_id, a.id, md5(a.out_trade_no), 900
FROM zhifu_paymentattempt a, generate_series(1, 2) k WHERE a.status = 'succeeded';
ANALYZE;
