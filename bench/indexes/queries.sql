\echo == my orders
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON) SELECT id FROM zhifu_order WHERE user_id = (SELECT min(id)+7 FROM auth_user) ORDER BY created_at DESC, id DESC LIMIT 20;
\echo == expiry job
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_order WHERE status = 'pending' AND expires_at <= now() ORDER BY expires_at LIMIT 500;
\echo == sweep
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_notification WHERE outcome = 'received' AND received_at <= now() - interval '5 minutes' ORDER BY received_at LIMIT 200;
\echo == reconcile due
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_paymentattempt WHERE next_check_at IS NOT NULL AND (status = 'pending' OR (status = 'closed' AND NOT closed_at_gateway)) AND next_check_at <= now() ORDER BY next_check_at LIMIT 500;
\echo == bill day
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT sum(amount) FROM zhifu_paymentattempt WHERE provider = 'alipay' AND status IN ('succeeded','extra') AND paid_at >= now() - interval '3 days' AND paid_at < now() - interval '2 days';
\echo == admin orders status=pending
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_order WHERE status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 100;
\echo == admin orders needs attention
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_order WHERE needs_attention ORDER BY created_at DESC, id DESC LIMIT 100;
\echo == admin notifications outcome=received
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM zhifu_notification WHERE outcome = 'received' ORDER BY received_at DESC, id DESC LIMIT 100;
\echo == sizes
SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname IN ('zhifu_order','zhifu_paymentattempt','zhifu_notification') ORDER BY relname, indexrelname;
