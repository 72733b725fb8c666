#!/usr/bin/env bash
# Abuse at the gateway, end to end: the real room, catalog and order binaries behind the real
# gateway, with the Redis and MariaDB that scripts/test started. Each attack comes from its own
# loopback address (127.0.0.2-127.0.0.9; the real viewer is 127.0.0.1):
#   - an oversized body: 413 JSON, and the cart it aimed at is unchanged;
#   - an oversized WebSocket message: the socket is closed with 1009 (message too big);
#   - JSON nested 10,000 deep (arrays, and objects): 400 JSON naming the limit, no crash;
#   - slowloris: 200 connections trickling their headers a byte a second are all cut at the read
#     deadline while a viewer's reads go on answering; past the per-address connection limit,
#     connections are closed at accept;
#   - a bot fleet: 100 viewer tokens from one address hammering flash buy: 429s, the sale is not
#     oversold (every unit reserved is a bot's or the viewer's accepted checkout), and the real
#     viewer buys a piece and pays for it during the attack.
# Then the gateway's peak RSS (VmHWM) is held to a bound and it stops cleanly on SIGTERM.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
admin="$build_dir/gateway/lc-admin"
helper="$(dirname "$0")/gateway_abuse.py"
room_port="$(e2e_port)"
catalog_port="$(e2e_port)"
order_port="$(e2e_port)"
gateway_port="$(e2e_port)"
export LC_ROOM_ADDR="127.0.0.1:$room_port" LC_CATALOG_ADDR="127.0.0.1:$catalog_port"
export LC_ORDER_ADDR="127.0.0.1:$order_port" LC_GATEWAY_PORT="$gateway_port"
export LC_ATTRIBUTION_ADDR="" LC_REPORT_ADDR=""
export LC_SESSION_SECRET="e2e-abuse-session-secret-0123456789abcdef"
# The limits under test (defaults but for the read deadline, shortened to keep the test short, and
# the per-address rate and connection limits, lowered to be reached quickly).
export LC_GATEWAY_READ_TIMEOUT_MS=3000 LC_GATEWAY_IP_RATE=50 LC_GATEWAY_IP_BURST=100
export LC_GATEWAY_MAX_CONNECTIONS_PER_IP=300
base="http://127.0.0.1:$gateway_port"
py=/usr/bin/python3
brand="abuse-$RANDOM$RANDOM"

e2e_start "$build_dir/services/room/room" "$room_port"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
e2e_start "$build_dir/services/order/order" "$order_port"
# No attribution or report service here: the gateway's channels to them point at a closed port.
LC_ATTRIBUTION_ADDR="127.0.0.1:$(e2e_port)" LC_REPORT_ADDR="127.0.0.1:$(e2e_port)" \
  e2e_start "$build_dir/gateway/gateway" "$gateway_port"
gateway_pid="${e2e_pids[-1]}"

body_file="$(mktemp)"
trap 'rm -f "$body_file"; e2e_cleanup' EXIT
token() {
  "$admin" token issue --role "$1" --brand "$brand" --subject "$2" |
    $py -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
ops="$(token ops ops-olga)"
alice="$(token viewer local-alice)"

# ---- A live room with a flash sale of 300 pieces, one per buyer --------------------------------
http POST /v1/rooms "$ops" '{"title": "Abuse", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
expect 200 "create room"
room="$(j 'd["room"]["id"]')"
http POST /v1/products "$ops" '{"name": "Scarf", "list_price": {"amount_fen": "99000", "currency": "CNY"}, "skus": [{"sku_code": "SCARF", "on_hand": "1000"}]}'
expect 200 "create product"
product="$(j 'd["product"]["id"]')"
sku="$(j 'd["product"]["skus"][0]["id"]')"
http POST "/v1/products/$product/activate" "$ops"
expect 200 activate
http POST "/v1/rooms/$room/products" "$ops" "{\"product_id\": \"$product\"}"
expect 200 attach
http POST "/v1/rooms/$room/live" "$ops"
expect 200 "go live"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
later="$(date -u -d '+30 min' +%Y-%m-%dT%H:%M:%SZ)"
http POST "/v1/rooms/$room/flash-sales" "$ops" "{\"sku_id\": \"$sku\", \"sale_price\": {\"amount_fen\": \"9900\", \"currency\": \"CNY\"}, \"total_stock\": \"300\", \"per_buyer_limit\": 1, \"starts_at\": \"$now\", \"ends_at\": \"$later\"}"
expect 200 "flash sale"
sale="$(j 'd["sale"]["id"]')"

# ---- An oversized body: 413 JSON, nothing changed ---------------------------------------------
$py -c "
import json
print(json.dumps({'item': {'sku_id': '$sku', 'quantity': '1', 'room': {'room_id': '$room'}, 'sale_id': 'x' * 100000}}))" >"$body_file.big"
http POST /v1/cart/items "$alice" "@$body_file.big"
expect 413 "oversized body"
[ "$(j 'd["code"]')" = INVALID_ARGUMENT ] || fail "413 body: $out"
[ "$(j 'd["message"]')" = "body: larger than 65536 bytes" ] || fail "413 message: $out"
# Chunked, with no length declared: refused once the body read runs past the limit.
code="$(curl -s -o "$body_file" -w '%{http_code}' -X POST "$base/v1/cart/items" \
  -H "Authorization: Bearer $alice" -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' --data-binary "@$body_file.big")"
out="$(cat "$body_file")"
rm -f "$body_file.big"
expect 413 "oversized chunked body"
[ "$(j 'd["message"]')" = "body: larger than 65536 bytes" ] || fail "413 message: $out"
http GET /v1/cart "$alice"
expect 200 "cart after the oversized body"
[ "$(j 'len(d["cart"].get("items", []))')" = 0 ] || fail "the oversized body changed the cart: $out"

# ---- JSON nested 10,000 deep: 400 JSON, no crash ---------------------------------------------
$py -c "print('[' * 10000 + ']' * 10000)" >"$body_file.deep"
http POST /v1/checkout "$alice" "@$body_file.deep"
expect 400 "arrays nested 10,000 deep"
[ "$(j 'd["message"]')" = "body: nested deeper than 32 levels" ] || fail "deep arrays: $out"
$py -c "print('{\"a\":' * 10000 + '1' + '}' * 10000)" >"$body_file.deep"
http POST /v1/cart/items "$alice" "@$body_file.deep"
expect 400 "objects nested 10,000 deep"
[ "$(j 'd["code"]')" = INVALID_ARGUMENT ] || fail "deep objects: $out"
rm -f "$body_file.deep"
http GET /healthz ""
expect 200 "healthz after the deep bodies"

# ---- An oversized WebSocket message: closed with 1009 -----------------------------------------
$py "$helper" ws-oversize "127.0.0.1:$gateway_port" "$room" "$alice" || fail "WebSocket message limit"

# ---- Slowloris: 200 sockets a byte a second, cut at the 3 s deadline; viewers still served ----
$py "$helper" slowloris "127.0.0.1:$gateway_port" "$room" "$alice" --sockets 200 \
  --deadline 3 --per-ip-limit 300 || fail "slowloris"

# ---- A bot fleet on flash buy from one address: 429s, no oversell, a viewer still buys -------
for i in $(seq 1 100); do token viewer "local-bot-$i"; done >"$body_file.bots"
$py "$helper" fleet "127.0.0.1:$gateway_port" "$room" "$sku" "$sale" "$body_file.bots" "$alice" \
  "$ops" --seconds 6 || fail "bot fleet"
rm -f "$body_file.bots"

# ---- Memory: the gateway's peak RSS --------------------------------------------------------
# Bound: the gateway idles at ~25 MiB (gRPC, Boost, the route table) and peaked at 27 MiB through
# this test on the 2-core development box. What the attacks may hold is bounded by the limits:
# ~520 connections at the worst moment (200 slowloris + 300 at the per-address limit + 16 bots),
# each a session and a read buffer of a few KiB, and at most one 64 KiB body per connection being
# read: 33 MiB on top of the idle 25 even if every one of them held a whole body. 64 MiB fails a
# leak of a body per refused request (50,000 bot requests) or an unbounded buffer.
hwm_kib="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$gateway_pid/status")"
echo "gateway VmHWM: $((hwm_kib / 1024)) MiB"
[ "$hwm_kib" -lt $((64 * 1024)) ] || fail "gateway peak RSS ${hwm_kib} kB is over 64 MiB"
metrics="$(curl -s "$base/metrics")"
grep -E '^lc_gateway_(read_timeouts|connections_refused|rate_limited)_total' <<<"$metrics"

kill -TERM "$gateway_pid"
rc=0
wait "$gateway_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "gateway: exit code $rc after SIGTERM"
echo "PASS: gateway abuse limits"
