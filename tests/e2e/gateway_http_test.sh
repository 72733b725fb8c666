#!/usr/bin/env bash
# End to end over HTTP: the real room, catalog, order, attribution and report binaries behind the
# real gateway, with the Redis and MariaDB that scripts/test started. A viewer's journey from login
# to a paid order; an invited client's order credited to the inviting associate, with the
# commission in finance's statement and the sale in the session's report; ops
# of one brand kept off another brand's room; a private room refusing a viewer without an invite;
# another viewer's order refused; malformed JSON, unknown field, oversized body, missing, forged,
# expired and revoked tokens, and a rate limit: each its 4xx, and nothing changed. Then the room
# WebSocket (tests/e2e/gateway_ws_test.py), the associates' alerts WebSocket with the attribution
# service restarted under it (tests/e2e/gateway_alerts_ws_test.py), a malformed
# LC_GATEWAY_TRUSTED_PROXIES refused at start-up and the per-IP limit going by X-Forwarded-For
# behind a trusted proxy, and a clean stop on SIGTERM.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
admin="$build_dir/gateway/lc-admin"
e2e_stack_ports
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100
export LC_SESSION_SECRET="e2e-session-secret-0123456789abcdef"
export LC_GATEWAY_PRINCIPAL_RATE=20 LC_GATEWAY_PRINCIPAL_BURST=40
export LC_GATEWAY_MAX_SOCKETS_PER_PRINCIPAL=2 LC_GATEWAY_MAX_BODY_BYTES=4096
export LC_HEARTBEAT_INTERVAL_MS=2000 LC_PRESENCE_WINDOW_MS=6000
base="http://127.0.0.1:$gateway_port"
py=/usr/bin/python3
redis-cli -h "$LC_REDIS_HOST" -p "$LC_REDIS_PORT" del lc:gateway:revoked >/dev/null

if LC_LOGIN_PROVIDER=magic "$build_dir/gateway/gateway" >"$e2e_log" 2>&1; then
  fail "started with LC_LOGIN_PROVIDER=magic"
fi
grep -q LC_LOGIN_PROVIDER "$e2e_log" || fail "error does not name LC_LOGIN_PROVIDER"
if LC_GATEWAY_TRUSTED_PROXIES="10.0.0.0/8,10.0.0.0/40" "$build_dir/gateway/gateway" >"$e2e_log" 2>&1; then
  fail "started with a malformed LC_GATEWAY_TRUSTED_PROXIES"
fi
grep -q "LC_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/40'" "$e2e_log" ||
  fail "error does not name LC_GATEWAY_TRUSTED_PROXIES and the entry"

e2e_start "$build_dir/services/room/room" "$room_port"
room_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
catalog_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/order/order" "$order_port"
order_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
attribution_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/report/report" "$report_port"
report_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"
gateway_pid="${e2e_pids[-1]}"

lc_wait() { for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done; return 1; }
lc_wait bash -c "curl -sf $base/readyz >/dev/null" || fail "readyz never 200: $(curl -s $base/readyz)"
http GET /healthz ""
expect 200 healthz

ops="$("$admin" token issue --role ops --brand e2e --subject ops-anna | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
rival="$("$admin" token issue --role ops --brand rival --subject ops-rex | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
finance="$("$admin" token issue --role finance --brand e2e --subject fin-fay | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
login() {
  http POST /v1/login "" "{\"code\": \"$1\", \"brand_id\": \"e2e\"}"
  expect 200 "login $1"
  j 'd["token"]'
}
alice="$(login alice)"
bob="$(login bob)"

# ---- Ops set up a public room with a product and a flash sale -------------------------------
http POST /v1/rooms "$ops" '{"title": "Spring preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
expect 200 "create room"
room="$(j 'd["room"]["id"]')"
http POST /v1/products "$ops" '{"name": "Quilted bag", "list_price": {"amount_fen": "2590000", "currency": "CNY"}, "skus": [{"sku_code": "BAG-BLK", "on_hand": "20"}]}'
expect 200 "create product"
product="$(j 'd["product"]["id"]')"
sku="$(j 'd["product"]["skus"][0]["id"]')"
http POST "/v1/products/$product/activate" "$ops"
expect 200 activate
http POST "/v1/rooms/$room/products" "$ops" "{\"product_id\": \"$product\"}"
expect 200 attach
http POST "/v1/rooms/$room/live" "$ops"
expect 200 "go live"
http POST "/v1/rooms/$room/pin" "$ops" "{\"product_id\": \"$product\", \"sku_id\": \"$sku\"}"
expect 200 pin
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
later="$(date -u -d '+30 min' +%Y-%m-%dT%H:%M:%SZ)"
http POST "/v1/rooms/$room/flash-sales" "$ops" "{\"sku_id\": \"$sku\", \"sale_price\": {\"amount_fen\": \"1990000\", \"currency\": \"CNY\"}, \"total_stock\": \"5\", \"per_buyer_limit\": 1, \"starts_at\": \"$now\", \"ends_at\": \"$later\"}"
expect 200 "flash sale"
sale="$(j 'd["sale"]["id"]')"

# ---- Ops of another brand are refused, and nothing changes -----------------------------------
http GET "/v1/rooms/$room" "$rival"
expect 404 "rival reads the room"
http POST "/v1/rooms/$room/end" "$rival"
expect 404 "rival ends the room"
http GET "/v1/rooms?brand_id=e2e" "$rival"
expect 403 "rival lists another brand's rooms"
http PATCH "/v1/rooms/$room" "$rival" '{"title": "Hijacked"}'
expect 404 "rival renames the room"
http GET "/v1/rooms/$room" "$ops"
expect 200 "ops reads the room"
[ "$(j 'd["room"]["title"]')" = "Spring preview" ] || fail "the rival changed the title: $out"
[ "$(j 'd["room"]["status"]')" = "ROOM_STATUS_LIVE" ] || fail "the rival ended the room: $out"
http POST /v1/rooms "$alice" '{"title": "A viewer room", "scheduled_start": "2026-01-01T00:00:00Z"}'
expect 403 "a viewer creates a room"
# Ops read their own changes at once (only viewers' reads are cached).
http GET "/v1/rooms/$room" "$ops"
http PATCH "/v1/rooms/$room" "$ops" '{"description": "Read back at once"}'
expect 200 "ops describe the room"
http GET "/v1/rooms/$room" "$ops"
[ "$(j 'd["room"]["description"]')" = "Read back at once" ] || fail "ops read a cached room: $out"

# ---- The viewer journey: room, products, join, cart, flash piece, checkout, pay, own orders ---
http GET "/v1/rooms/$room" "$alice"
expect 200 "viewer reads the room"
http GET "/v1/rooms/$room/products" "$alice"
expect 200 "room products"
[ "$(j 'd["items"][0]["product"]["id"]')" = "$product" ] || fail "room products: $out"
http GET "/v1/rooms/$room/flash-sales" "$alice"
expect 200 "flash sales"
http POST "/v1/rooms/$room/join" "$alice" '{"device_id": "phone-1"}'
expect 200 join
http GET "/v1/rooms/$room/pinned" "$alice"
expect 200 pinned
[ "$(j 'd["pinned"]["product_id"]')" = "$product" ] || fail "pinned: $out"
http POST /v1/cart/items "$alice" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\", \"room\": {\"room_id\": \"$room\"}}}"
expect 200 "cart add"
http POST /v1/checkout "$alice" "{\"idempotency_key\": \"alice-1\", \"lines\": [{\"sku_id\": \"$sku\", \"sale_id\": \"$sale\", \"quantity\": \"1\"}], \"room\": {\"room_id\": \"$room\"}, \"address\": {\"recipient\": \"Alice\", \"phone\": \"13800000000\", \"province\": \"Shanghai\", \"city\": \"Shanghai\", \"district\": \"Huangpu\", \"street\": \"1 Bund\", \"postal_code\": \"200000\"}}"
expect 200 "checkout the flash piece"
order="$(j 'd["order"]["id"]')"
[ "$(j 'd["order"]["total"]["amount_fen"]')" = "1990000" ] || fail "checkout total: $out"
http GET "/v1/orders/$order/payment" "$alice"
expect 200 "payment parameters"
[ "$(j 'd["provider"]')" = "PAYMENT_PROVIDER_SANDBOX" ] || fail "payment: $out"
http POST "/v1/orders/$order/sandbox-pay" "$alice"
expect 200 "sandbox pay"
[ "$(j 'd["order"]["status"]')" = "ORDER_STATUS_PAID" ] || fail "pay: $out"
http GET /v1/orders "$alice"
expect 200 "own orders"
[ "$(j 'd["orders"][0]["id"]')" = "$order" ] || fail "own orders: $out"
[ "$(j 'd["orders"][0]["status"]')" = "ORDER_STATUS_PAID" ] || fail "own orders: $out"
http GET "/v1/cart" "$alice"
expect 200 "cart"
[ "$(j 'len(d["cart"]["items"])')" = 1 ] || fail "cart: $out"
http GET /v1/orders "$finance"
expect 200 "finance lists the brand's orders"
[ "$(j 'd["orders"][0]["id"]')" = "$order" ] || fail "finance orders: $out"

# ---- Another viewer's order is refused --------------------------------------------------------
http GET "/v1/orders/$order" "$bob"
[ "$code" = 404 ] || [ "$code" = 403 ] || fail "bob read alice's order: $code $out"
http POST "/v1/orders/$order/cancel" "$bob"
[ "$code" = 404 ] || [ "$code" = 403 ] || fail "bob cancelled alice's order: $code $out"
http GET "/v1/orders" "$bob"
expect 200 "bob's orders"
[ "$(j 'len(d["orders"])')" = 0 ] || fail "bob sees orders: $out"

# ---- A private room refuses a viewer without an invite ---------------------------------------
http POST /v1/rooms "$ops" '{"title": "VIP only", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
expect 200 "private room"
private="$(j 'd["room"]["id"]')"
http POST "/v1/rooms/$private/live" "$ops"
expect 200 "private live"
http POST "/v1/rooms/$private/join" "$bob" '{"device_id": "phone-b"}'
expect 403 "bob joins the private room without an invite"
http GET "/v1/rooms/$private/products" "$bob"
expect 403 "bob reads the private room's products"
http GET "/v1/rooms/$private/stats" "$ops"
[ "$(j 'd["stats"]["concurrent_viewers"]')" = 0 ] || fail "bob is counted: $out"
http POST "/v1/rooms/$private/invites" "$ops" '{"cohort": "VIP", "count": 1}'
expect 200 "invites"
invite="$(j 'd["invites"][0]["token"]')"
http POST "/v1/rooms/$private/join" "$bob" "{\"device_id\": \"phone-b\", \"invite_token\": \"$invite\"}"
expect 200 "bob joins with the invite"

# ---- Bad requests: each its 4xx, nothing reaches a service ------------------------------------
cart_before() { http GET /v1/cart "$alice"; expect 200 "cart"; j 'json.dumps(d["cart"]["items"])'; }
before="$(cart_before)"
http POST /v1/cart/items "$alice" '{"item": {"sku_id": '
expect 400 "malformed JSON"
[ "$(j 'd["code"]')" = INVALID_ARGUMENT ] || fail "malformed: $out"
grep -q '"message":"body: ' <<<"$out" || fail "malformed JSON does not name the body: $out"
http POST /v1/cart/items "$alice" "{\"item\": {\"sku_id\": \"$sku\", \"colour\": \"red\"}}"
expect 400 "unknown field"
grep -q 'item.colour: unknown field' <<<"$out" || fail "unknown field not named: $out"
http POST /v1/cart/items "$alice" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"lots\"}}"
expect 400 "wrong type"
grep -q 'item.quantity' <<<"$out" || fail "wrong type not named: $out"
big="{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\"}, \"pad\": \"$(head -c 6000 /dev/zero | tr '\0' x)\"}"
http POST /v1/cart/items "$alice" "$big"
expect 413 "oversized body"
http POST /v1/cart/items "" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\"}}"
expect 401 "missing token"
forged="${alice%.*}.$(printf 'forged-signature-bytes-0123456789' | base64 | tr '+/' '-_' | tr -d '=')"
http POST /v1/cart/items "$forged" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\"}}"
expect 401 "forged token"
grep -q 'bad signature' <<<"$out" || fail "forged: $out"
# An expired token, signed with the right secret.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
past="$(( $(date +%s) - 7200 ))"
payload="$(printf 'old-token-1|viewer|e2e|local-alice|%s|%s' "$past" "$(( past + 3600 ))" | b64url)"
signature="$(printf 'lc1.%s' "$payload" | openssl dgst -sha256 -hmac "$LC_SESSION_SECRET" -binary | b64url)"
http POST /v1/cart/items "lc1.$payload.$signature" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\"}}"
expect 401 "expired token"
grep -q 'token: expired' <<<"$out" || fail "expired: $out"
[ "$(cart_before)" = "$before" ] || fail "a refused request changed the cart"

# Revoked: refused within a couple of seconds, everywhere.
carol="$(login carol)"
http GET /v1/cart "$carol"
expect 200 "carol before revocation"
"$admin" token revoke "$carol" >/dev/null || fail "revoke"
revoked=0
for _ in $(seq 1 40); do
  http POST /v1/cart/items "$carol" "{\"item\": {\"sku_id\": \"$sku\", \"quantity\": \"1\"}}"
  if [ "$code" = 401 ]; then revoked=1; break; fi
  http DELETE /v1/cart "$carol"  # a request that got through before the list refreshed
  sleep 0.1
done
[ "$revoked" = 1 ] || fail "revoked token still accepted"
grep -q 'token: revoked' <<<"$out" || fail "revoked: $out"
dave="$(login dave)"
http GET /v1/cart "$dave"
expect 200 "another token still works"

# Rate limit: a burst of 40 then 20/s; 60 quick additions must hit 429 with Retry-After, and the
# cart holds exactly the accepted ones. One keep-alive connection: 60 curl processes can take over
# a second on a loaded machine, long enough for the bucket to refill.
erin="$(login erin)"
counts="$($py - "$gateway_port" "$erin" "$sku" <<'PY'
import http.client, json, sys
port, token, sku = sys.argv[1:4]
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
body = json.dumps({"item": {"sku_id": sku, "quantity": "1"}})
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
accepted = limited = 0
for _ in range(60):
    conn.request("POST", "/v1/cart/items", body, headers)
    response = conn.getresponse()
    response.read()
    if response.status == 200:
        accepted += 1
    elif response.status == 429:
        limited += 1
        retry_after = response.getheader("Retry-After") or ""
        if not retry_after.isdigit() or int(retry_after) < 1:
            sys.exit("429 without Retry-After")
print(accepted, limited)
PY
)" || fail "rate limit: $counts"
read -r accepted limited <<<"$counts"
[ "$limited" -gt 0 ] || fail "no 429 after 60 quick requests"
sleep 1.1
http GET /v1/cart "$erin"
expect 200 "erin's cart"
[ "$(j 'sum(int(i["quantity"]) for i in d["cart"]["items"])')" = "$accepted" ] ||
  fail "cart does not hold exactly the $accepted accepted additions: $out"

# ---- API surface: OpenAPI, metrics, unknown route ---------------------------------------------
http GET /v1/openapi.json ""
expect 200 openapi
[ "$(j '"/v1/rooms/{room_id}/products" in d["paths"]')" = True ] || fail "openapi: no room products"
http GET /v1/nothing-here "$alice"
expect 404 "unknown route"
http DELETE "/v1/rooms/$room/live" "$ops"
expect 405 "wrong method"
metrics="$(curl -s "$base/metrics")"
grep -q 'lc_gateway_http_requests_total{route="checkout",status="200"} 1' <<<"$metrics" ||
  fail "metrics: no checkout"
grep -q 'lc_gateway_rate_limited_total{limit="principal"} [1-9]' <<<"$metrics" ||
  fail "metrics: no rate limiting"

# ---- An associate's invite, a client's order, the associate's commission ------------------------
http POST /v1/stores "$ops" '{"name": "Shanghai IFC"}'
expect 200 "store"
store="$(j 'd["store"]["id"]')"
http POST /v1/associates "$ops" "{\"store_id\": \"$store\", \"name\": \"Lin\"}"
expect 200 "associate"
lin="$(j 'd["associate"]["id"]')"
http POST /v1/finance/rules "$finance" '{"scope": "RULE_SCOPE_BRAND", "effective_from": "2020-01-01T00:00:00Z", "lines": [{"recipient": "RECIPIENT_ASSOCIATE", "basis_points": 500}, {"recipient": "RECIPIENT_STORE", "basis_points": 200}]}'
expect 200 "commission rule"
http POST /v1/finance/rules "$ops" '{"scope": "RULE_SCOPE_BRAND", "lines": []}'
expect 403 "ops set commission rules"
http POST /v1/rooms "$ops" '{"title": "Lin private preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
expect 200 "Lin's room"
lin_room="$(j 'd["room"]["id"]')"
http POST "/v1/rooms/$lin_room/live" "$ops"
expect 200 "Lin's room live"
http POST "/v1/rooms/$lin_room/invites" "$ops" "{\"cohort\": \"Lin clients\", \"associate_id\": \"$lin\", \"count\": 1}"
expect 200 "Lin's invite"
lin_invite="$(j 'd["invites"][0]["token"]')"
carol="$(login carol)"
http POST "/v1/rooms/$lin_room/join" "$carol" "{\"device_id\": \"phone-c\", \"invite_token\": \"$lin_invite\"}"
expect 200 "carol joins with Lin's invite"
lin_session="$(j 'd["session_id"]')"
http POST /v1/checkout "$carol" "{\"idempotency_key\": \"carol-1\", \"lines\": [{\"sku_id\": \"$sku\", \"quantity\": \"1\"}], \"address\": {\"recipient\": \"Carol\", \"phone\": \"13800000001\", \"province\": \"Shanghai\", \"city\": \"Shanghai\", \"street\": \"1 Bund\"}, \"room\": {\"room_id\": \"$lin_room\", \"session_id\": \"$lin_session\"}}"
expect 200 "carol checks out"
carol_order="$(j 'd["order"]["id"]')"
carol_total="$(j 'd["order"]["total"]["amount_fen"]')"
http POST "/v1/orders/$carol_order/sandbox-pay" "$carol"
expect 200 "carol pays"
# The order service's outbox tells attribution (the touch came from the room service).
credited=""
for _ in $(seq 1 100); do
  http GET "/v1/attributed-orders/$carol_order" "$finance"
  if [ "$code" = 200 ]; then credited="$(j 'd["order"].get("associate_id", "")')"; break; fi
  sleep 0.1
done
[ "$credited" = "$lin" ] || fail "carol's order credited to '$credited', not Lin ($lin): $out"
lin_fen="$(j 'sum(int(e["amount"]["amount_fen"]) for e in d["entries"] if e["recipient"] == "RECIPIENT_ASSOCIATE")')"
[ "$lin_fen" = "$((carol_total * 500 / 10000))" ] || fail "Lin's commission $lin_fen of $carol_total"
period="\"period_start\": \"$(date -u -d '-1 day' +%Y-%m-%dT00:00:00Z)\", \"period_end\": \"$(date -u -d '+2 day' +%Y-%m-%dT00:00:00Z)\""
http POST /v1/finance/statements "$finance" "{$period, \"grouping\": \"STATEMENT_GROUPING_ASSOCIATE\"}"
expect 200 "finance statement"
[ "$(j 'sum(int(g["totals"]["net_fen"]) for g in d["statement"]["groups"] if g.get("recipient_id") == "'"$lin"'")')" = "$lin_fen" ] ||
  fail "the statement does not show Lin's commission: $out"
lin_token="$("$admin" token issue --role associate --brand e2e --subject "$lin" | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
http GET /v1/commissions "$lin_token"
expect 200 "Lin reads her commissions"
[ "$(j 'sum(int(e["amount"]["amount_fen"]) for e in d["entries"])')" = "$lin_fen" ] ||
  fail "Lin's own entries: $out"
rival_finance="$("$admin" token issue --role finance --brand rival --subject fin-rita | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
http POST /v1/finance/statements "$rival_finance" "{$period, \"grouping\": \"STATEMENT_GROUPING_ASSOCIATE\"}"
expect 200 "another brand's statement"
[ "$(j 'len(d["statement"].get("groups", []))')" = 0 ] || fail "another brand's finance sees e2e's commissions: $out"
http GET "/v1/attributed-orders/$carol_order" "$carol"
expect 403 "a viewer reads attribution"
http POST "/v1/sessions/$lin_session/product-views" "$carol" "{\"product_id\": \"$product\"}"
expect 200 "carol opens a product during the session"
# The session's report shows the sale.
sold=""
for _ in $(seq 1 100); do
  http GET "/v1/sessions/$lin_session/report" "$ops"
  expect 200 "session report"
  sold="$(j 'd["report"]["sales"].get("orders", "0")')"
  [ "$sold" = 1 ] && break
  sleep 0.1
done
[ "$sold" = 1 ] || fail "the session report does not show the order: $out"
# By associate, the sale is Lin's: the attribution service credited her invite (carol carried no
# associate into checkout).
lin_sold=""
for _ in $(seq 1 100); do
  http GET "/v1/sessions/$lin_session/report" "$ops"
  lin_sold="$(j '{r["key"]: r["sales"].get("orders", "0") for r in d["report"].get("by_associate", [])}.get("'"$lin"'", "")')"
  [ "$lin_sold" = 1 ] && break
  sleep 0.1
done
[ "$lin_sold" = 1 ] || fail "the report's sales by associate do not credit Lin ($lin): $out"
[ "$(j 'd["report"]["funnel"]["paid"]')" = 1 ] || fail "funnel: $out"
[ "$(j 'd["report"]["funnel"]["viewed_product"]')" = 1 ] || fail "funnel views: $out"
http GET "/v1/sessions/$lin_session/report" "$rival"
expect 404 "another brand's session report"

# ---- The room WebSocket -------------------------------------------------------------------------
http POST /v1/rooms "$ops" '{"title": "Socket room", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_FOLLOWERS"], "objective": "OBJECTIVE_AWARENESS", "format": "FORMAT_INSPIRATIONAL"}'
expect 200 "socket room"
socket_room="$(j 'd["room"]["id"]')"
http POST "/v1/rooms/$socket_room/live" "$ops"
expect 200 "socket room live"
frank="$(login frank)"
grace="$(login grace)"
$py "$(dirname "$0")/gateway_ws_test.py" "127.0.0.1:$gateway_port" "$socket_room" "$frank" \
  "$grace" "$private" "$ops" "$rival" >>"$e2e_log" 2>&1 || fail "WebSocket test"

# ---- The associates' alerts WebSocket -----------------------------------------------------------
http POST /v1/associates "$ops" "{\"store_id\": \"$store\", \"name\": \"Mei\"}"
expect 200 "a second associate"
mei="$(j 'd["associate"]["id"]')"
mei_token="$("$admin" token issue --role associate --brand e2e --subject "$mei" | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
http GET /v1/alerts/ws "$lin_token"
expect 400 "the alerts WebSocket without an upgrade"
sync_dir="$(mktemp -d)"
$py "$(dirname "$0")/gateway_alerts_ws_test.py" "127.0.0.1:$gateway_port" "$admin" "$sync_dir" \
  "$lin" "$lin_token" "$mei_token" "$carol" local-carol "$frank" "$ops" "$sku" "$lin_room" \
  >>"$e2e_log" 2>&1 &
alerts_test=$!
# Mid-way the test asks for the attribution service to be restarted.
for _ in $(seq 1 600); do
  [ -f "$sync_dir/stop-attribution" ] && break
  kill -0 "$alerts_test" 2>/dev/null || break
  sleep 0.1
done
if [ -f "$sync_dir/stop-attribution" ]; then
  e2e_stop "$attribution_pid" attribution
  e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
  attribution_pid="${e2e_pids[-1]}"
  touch "$sync_dir/attribution-started"
fi
wait "$alerts_test" || fail "alerts WebSocket test"
rm -rf "$sync_dir"

# ---- Behind a trusted proxy the per-IP limit goes by X-Forwarded-For ---------------------------
proxied_port="$(e2e_port)"
LC_GATEWAY_PORT="$proxied_port" LC_GATEWAY_TRUSTED_PROXIES="127.0.0.0/8,::1/128" \
  LC_GATEWAY_IP_RATE=1 LC_GATEWAY_IP_BURST=2 e2e_start "$build_dir/gateway/gateway" "$proxied_port"
proxied_pid="${e2e_pids[-1]}"
forwarded() {
  curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $1" \
    "http://127.0.0.1:$proxied_port/v1/openapi.json"
}
[ "$(forwarded 198.51.100.1)" = 200 ] && [ "$(forwarded 198.51.100.1)" = 200 ] ||
  fail "proxied: the first two requests of a client"
# The third is limited, though the client wrote another address left of what the proxy added.
[ "$(forwarded '198.51.100.2, 198.51.100.1')" = 429 ] ||
  fail "proxied: the client's third request is not limited (or a spoofed address was believed)"
[ "$(forwarded 198.51.100.2)" = 200 ] || fail "proxied: another client shares the first's bucket"
e2e_stop "$proxied_pid" gateway

e2e_stop "$gateway_pid" gateway
e2e_stop "$report_pid" report
e2e_stop "$attribution_pid" attribution
e2e_stop "$order_pid" order
e2e_stop "$catalog_pid" catalog
e2e_stop "$room_pid" room
echo "1 passed, 0 failed"
