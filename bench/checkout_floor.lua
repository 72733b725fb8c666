-- The bare-transaction floor of the checkout scenario (issue 21), a sysbench script: each event
-- writes, in one transaction on the same MariaDB and in the services' own tables, the rows a
-- paid checkout writes there: the SKU's units reserved, the reservation, the order and its line,
-- the payment, the order marked paid, the outbox message that confirms the reservation and the
-- OrderPaid event, then the reservation confirmed (units off the shelf, the message delivered).
-- Nothing else: no gRPC, no batching, no reads but the ids just made. bench/run seeds the SKUs
-- (brand "bench-floor") and runs this with the order service's pool size as the thread count,
-- open loop (--rate) in the same steps as the service.
--
--   sysbench bench/checkout_floor.lua --mysql-... --threads=32 --rate=R --time=S \
--     --sku-ids=ID,ID,... --tag=RUN run

sysbench.cmdline.options = {
  sku_ids = {"The seeded SKUs the checkouts are spread over, comma-separated ids", "1"},
  tag = {"Unique per run, so that the keys written are new", "floor"},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  n = 0
  skus = {}
  for id in string.gmatch(sysbench.opt.sku_ids, "%d+") do skus[#skus + 1] = tonumber(id) end
end

function thread_done()
  con:disconnect()
end

function event()
  n = n + 1
  local key = string.format("%s-%d-%d", sysbench.opt.tag, sysbench.tid, n)
  local sku = skus[(sysbench.tid + n) % #skus + 1]
  local q = function(fmt, ...) con:query(string.format(fmt, ...)) end
  q("START TRANSACTION")
  q("UPDATE skus SET reserved = reserved + 1, updated_at = NOW(6) WHERE id = %d", sku)
  q("INSERT INTO sku_reservations (reservation_id, brand_id, sku_id, buyer_id, quantity, state, " ..
    "expires_at, created_at, updated_at) VALUES ('r-%s', 'bench-floor', %d, 'buyer-%d', 1, 1, " ..
    "NOW(6) + INTERVAL 20 MINUTE, NOW(6), NOW(6))", key, sku, n % 2000)
  q("INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, status, currency, " ..
    "total_fen, channel, address, provider, expires_at, created_at, updated_at) VALUES " ..
    "('bench-floor', 'buyer-%d', '%s', SHA2('%s', 256), 1, 'CNY', 89000, 2, " ..
    "'Bench Buyer 13800000000 Shanghai Shanghai 1 Bench Road', 1, NOW(6) + INTERVAL 15 MINUTE, " ..
    "NOW(6), NOW(6))", n % 2000, key, key)
  q("SET @order_id = LAST_INSERT_ID()")
  q("INSERT INTO order_lines (order_id, line_no, brand_id, product_id, sku_id, product_name, " ..
    "quantity, unit_price_fen, line_total_fen, reservation_id) VALUES (@order_id, 1, " ..
    "'bench-floor', 1, %d, 'Card holder', 1, 89000, 89000, 'r-%s')", sku, key)
  q("INSERT INTO payments (brand_id, order_id, provider, transaction_id, amount_fen, currency, " ..
    "created_at) VALUES ('bench-floor', @order_id, 1, 't-%s', 89000, 'CNY', NOW(6))", key)
  q("UPDATE orders SET status = 2, paid_at = NOW(6), updated_at = NOW(6) WHERE id = @order_id")
  q("INSERT INTO order_outbox (brand_id, topic, message_key, payload, status, next_attempt_at, " ..
    "created_at) VALUES ('bench-floor', 'reservation.confirm', 'r-%s', 'r-%s', 0, NOW(6), NOW(6))",
    key, key)
  q("INSERT INTO order_event_outbox (subscriber, brand_id, event_key, type, payload, " ..
    "occurred_at) VALUES ('report', 'bench-floor', @order_id, " ..
    "'livecommerce.events.v1.OrderPaid', REPEAT('x', 120), NOW(6))")
  q("UPDATE sku_reservations SET state = 2, updated_at = NOW(6) WHERE reservation_id = 'r-%s'",
    key)
  q("UPDATE skus SET on_hand = on_hand - 1, reserved = reserved - 1, updated_at = NOW(6) " ..
    "WHERE id = %d", sku)
  q("UPDATE order_outbox SET status = 1, delivered_at = NOW(6) WHERE topic = " ..
    "'reservation.confirm' AND message_key = 'r-%s'", key)
  q("COMMIT")
end
