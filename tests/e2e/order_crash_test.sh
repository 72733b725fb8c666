#!/usr/bin/env bash
# End to end: the order service is killed (SIGKILL) in the middle of a stream of checkouts and
# payments, then started again. Afterwards nothing is lost or leaked: no checkout is left half
# done, every unit still reserved belongs to an order awaiting payment, every paid order has its
# payment and its conversion once and its units confirmed, and the SKU figures add up.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
catalog_port="$(e2e_port)"
order_port="$(e2e_port)"
export LC_CATALOG_ADDR="127.0.0.1:$catalog_port" LC_ORDER_ADDR="127.0.0.1:$order_port"
# Interrupted checkouts are recovered 2 s after they began; the relay runs every 50 ms.
export LC_ORDER_CHECKOUT_TIMEOUT_MS=2000 LC_OUTBOX_INTERVAL_MS=50
brand="crash-$RANDOM$RANDOM"
sql() {
  mariadb -h "${LC_TEST_MYSQL%:*}" -P "${LC_TEST_MYSQL#*:}" -ulc -plc "$LC_TEST_MYSQL_DATABASE" \
    -N -B -e "$1"
}

e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
catalog_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/order/order" "$order_port"
order_pid="${e2e_pids[-1]}"

# 400 checkouts/s, each paid as soon as it answers; the order service dies 1.5 s in.
"$build_dir/bench/checkout_load" --catalog "$LC_CATALOG_ADDR" --order "$LC_ORDER_ADDR" \
  --brand "$brand" --rate 400 --duration 3 >>"$e2e_log" 2>&1 &
load_pid=$!
sleep 1.5
kill -KILL "$order_pid"
wait "$order_pid" 2>/dev/null || true
kill -KILL "$load_pid"  # its buyers go too: nobody retries what was cut off
wait "$load_pid" 2>/dev/null || true
e2e_start "$build_dir/services/order/order" "$order_port"
order_pid="${e2e_pids[-1]}"

# Checks, in SQL over both services' tables (one database in tests). Each prints 0 when it holds.
checks() {
  sql "SELECT COUNT(*) FROM orders WHERE brand_id = '$brand' AND status = 0"
  # A reserved unit belongs to an order awaiting payment.
  sql "SELECT COUNT(*) FROM sku_reservations r LEFT JOIN order_lines l
         ON l.reservation_id = r.reservation_id LEFT JOIN orders o ON o.id = l.order_id
       WHERE r.brand_id = '$brand' AND r.state = 1 AND (o.id IS NULL OR o.status <> 1)"
  # A paid order's units are confirmed.
  sql "SELECT COUNT(*) FROM orders o JOIN order_lines l ON l.order_id = o.id
         LEFT JOIN sku_reservations r ON r.reservation_id = l.reservation_id
       WHERE o.brand_id = '$brand' AND o.status = 2 AND (r.id IS NULL OR r.state <> 2)"
  # SKU figures: reserved = live reservations; on_hand = initial - confirmed.
  sql "SELECT COUNT(*) FROM skus s WHERE s.brand_id = '$brand' AND s.reserved <>
         (SELECT COALESCE(SUM(quantity), 0) FROM sku_reservations WHERE sku_id = s.id AND state = 1)"
  # A paid order has one payment and one OrderPaid event for the report.
  sql "SELECT COUNT(*) FROM orders o WHERE o.brand_id = '$brand' AND o.status = 2 AND (
         (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id) <> 1 OR
         (SELECT COUNT(*) FROM order_event_outbox e WHERE e.subscriber = 'report' AND
            e.type = 'livecommerce.events.v1.OrderPaid' AND e.event_key = o.id) <> 1)"
  sql "SELECT COUNT(*) FROM order_event_outbox e JOIN orders o ON e.event_key = o.id
       WHERE e.brand_id = '$brand' AND e.subscriber = 'report' AND
         e.type = 'livecommerce.events.v1.OrderPaid' AND o.status <> 2"
}
ok=0
for _ in $(seq 1 100); do  # recovery and the relay catch up within a few seconds
  if [ "$(checks | sort -u | tr -d '\n')" = 0 ]; then ok=1; break; fi
  sleep 0.1
done
[ "$ok" = 1 ] || fail "after the restart: $(checks | tr '\n' ' ')"
paid="$(sql "SELECT COUNT(*) FROM orders WHERE brand_id = '$brand' AND status = 2")"
[ "$paid" -gt 0 ] || fail "no order was paid before the kill"
initial="$(sql "SELECT COUNT(*) FROM skus WHERE brand_id = '$brand'")"
[ "$initial" -gt 0 ] || fail "no SKUs"
confirmed="$(sql "SELECT COALESCE(SUM(quantity), 0) FROM sku_reservations
                  WHERE brand_id = '$brand' AND state = 2")"
paid_units="$(sql "SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o
                   ON o.id = l.order_id WHERE o.brand_id = '$brand' AND o.status = 2")"
[ "$confirmed" = "$paid_units" ] || fail "confirmed $confirmed units, paid for $paid_units"
# checkout_load stocks each SKU with twice the operations it plans (400/s x 3 s): what left
# on_hand is exactly what was confirmed.
on_hand="$(sql "SELECT SUM(on_hand) FROM skus WHERE brand_id = '$brand'")"
[ $((on_hand + confirmed)) = $((2 * 400 * 3 * initial)) ] ||
  fail "on hand $on_hand + confirmed $confirmed is not what was stocked"
interrupted="$(sql "SELECT COUNT(*) FROM orders WHERE brand_id = '$brand' AND status = 9")"
pending="$(sql "SELECT COUNT(*) FROM orders WHERE brand_id = '$brand' AND status = 1")"
echo "paid $paid, awaiting payment $pending, refused or interrupted $interrupted"

e2e_stop "$order_pid" order
e2e_stop "$catalog_pid" catalog
echo "1 passed, 0 failed"
