#!/usr/bin/env bash
# End to end: the real room, catalog and order binaries together. A product, a flash sale in a
# room, a reservation by the order service and its confirmation; a viewer's cart, checkout and
# sandbox payment; the sale's figures; a bad configuration; clean shutdown of all on SIGTERM.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
lcctl="$build_dir/services/cli/lcctl"
catalog="$build_dir/services/catalog/catalog"
room_port="$(e2e_port)"
catalog_port="$(e2e_port)"
order_port="$(e2e_port)"
export LC_ROOM_ADDR="127.0.0.1:$room_port" LC_CATALOG_ADDR="127.0.0.1:$catalog_port"
export LC_ORDER_ADDR="127.0.0.1:$order_port"

if LC_FLASH_BUCKETS=0 "$catalog" >"$e2e_log" 2>&1; then fail "started with LC_FLASH_BUCKETS=0"; fi
grep -q "LC_FLASH_BUCKETS" "$e2e_log" || fail "error does not name LC_FLASH_BUCKETS"

e2e_start "$build_dir/services/room/room" "$room_port"
room_pid="${e2e_pids[-1]}"
e2e_start "$catalog" "$catalog_port"
catalog_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/order/order" "$order_port"
order_pid="${e2e_pids[-1]}"

c() { "$lcctl" --brand e2e-shop "$@"; }
room_id="$(c room create --title "Flash room" --visibility public | json_field id)"
product="$(c product create --name "Silk scarf" --price 350000 --sku SCARF-RED --stock 5)"
product_id="$(json_field id <<<"$product")"
sku_id="$(sed -n '/"skus"/,$p' <<<"$product" | json_field id)"
[ -n "$room_id" ] && [ -n "$product_id" ] && [ -n "$sku_id" ] || fail "setup: $product"
c product activate "$product_id" >/dev/null || fail "activate"
sale_id="$(c sale create "$room_id" "$sku_id" --price 199000 --stock 3 --limit 1 | json_field id)"
[ -n "$sale_id" ] || fail "sale create"
c --as service reserve "$sale_id" --buyer buyer-a --id res-a >/dev/null || fail "reserve a"
c --as service reserve "$sale_id" --buyer buyer-a --id res-a >/dev/null || fail "repeat reserve a"
if c --as service reserve "$sale_id" --buyer buyer-a --id res-a2 2>/dev/null; then
  fail "per-buyer limit not applied"
fi
c --as service confirm res-a >/dev/null || fail "confirm"
if c --as viewer --subject buyer-a reserve "$sale_id" --buyer buyer-a 2>/dev/null; then
  fail "a viewer reserved directly"
fi
sale="$(c sale get "$sale_id")"
grep -q '"sold": "1"' <<<"$sale" || fail "sold: $sale"
grep -q '"remaining": "2"' <<<"$sale" || fail "remaining: $sale"

# A viewer buys the flash piece from the cart and pays (sandbox).
v() { c --as viewer --subject buyer-b "$@"; }
v cart add "$sku_id" --sale "$sale_id" >/dev/null || fail "cart add"
order="$(v checkout --key e2e-1 --cart --room "$room_id")"
order_id="$(json_field id <<<"$order")"
grep -q '"amount_fen": "199000"' <<<"$order" || fail "checkout: $order"
grep -q '"items"' <<<"$(v cart get)" && fail "cart not emptied by checkout"
paid="$(v pay "$order_id")"
grep -q ORDER_STATUS_PAID <<<"$paid" || fail "pay: $paid"
if c --as viewer --subject someone-else order get "$order_id" 2>/dev/null; then
  fail "another viewer read the order"
fi
for _ in $(seq 1 50); do  # the outbox confirms the reservation in the background
  grep -q '"sold": "2"' <<<"$(c sale get "$sale_id")" && break
  sleep 0.1
done
grep -q '"sold": "2"' <<<"$(c sale get "$sale_id")" || fail "the paid order's unit is not sold"

e2e_stop "$order_pid" order
e2e_stop "$catalog_pid" catalog
e2e_stop "$room_pid" room
echo "1 passed, 0 failed"
