#!/usr/bin/env bash
# End to end with a real Prometheus: every service and the gateway as real processes, each
# service serving /metrics on a port of its own, a Prometheus on a free loopback port scraping
# them all every second (with the alert rules of k8s/, checked by promtool), and a viewer's journey
# through the gateway (login, room, product, checkout, sandbox pay). Then Prometheus' HTTP API
# must show, before a deadline: the Checkout RPC counted and timed in the order service, the
# gateway's requests counted by route, the pools' gauges, the outbox lag back to 0, and every
# target up. The checkout's request id, sent by the client, comes back in X-Request-Id and one
# grep finds its lines in the gateway's, the order service's and the catalog's logs.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
admin="$build_dir/gateway/lc-admin"
py=/usr/bin/python3
command -v prometheus >/dev/null || fail "no prometheus binary (scripts/deps installs it)"
command -v promtool >/dev/null || fail "no promtool (the prometheus package has it)"

e2e_stack_ports
room_metrics="$(e2e_port)"
catalog_metrics="$(e2e_port)"
order_metrics="$(e2e_port)"
attribution_metrics="$(e2e_port)"
report_metrics="$(e2e_port)"
interaction_metrics="$(e2e_port)"
prom_port="$(e2e_port)"
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100
export LC_SESSION_SECRET="e2e-session-secret-0123456789abcdef"
base="http://127.0.0.1:$gateway_port"
prom="http://127.0.0.1:$prom_port"
work="$(mktemp -d)"
trap 'e2e_cleanup; rm -rf "$work"' EXIT

# ---- The alert rules: promtool-valid, and the ConfigMap's copy is the same -----------------------
promtool check rules "$root/k8s/prometheus/alerts.yml" >/dev/null ||
  fail "promtool rejects k8s/prometheus/alerts.yml: $(promtool check rules "$root/k8s/prometheus/alerts.yml" 2>&1)"
$py - "$root" <<'PY' || fail "k8s/base/monitoring.yaml and k8s/prometheus/alerts.yml differ"
import sys, yaml
root = sys.argv[1]
docs = list(yaml.safe_load_all(open(f"{root}/k8s/base/monitoring.yaml")))
cm = next(d for d in docs if d["kind"] == "ConfigMap")
assert yaml.safe_load(cm["data"]["alerts.yml"]) == yaml.safe_load(open(f"{root}/k8s/prometheus/alerts.yml"))
yaml.safe_load(cm["data"]["prometheus.yml"])
PY

LC_METRICS_ADDR="127.0.0.1:$room_metrics" e2e_start "$build_dir/services/room/room" "$room_port"
LC_METRICS_ADDR="127.0.0.1:$catalog_metrics" e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
LC_METRICS_ADDR="127.0.0.1:$order_metrics" e2e_start "$build_dir/services/order/order" "$order_port"
LC_METRICS_ADDR="127.0.0.1:$attribution_metrics" e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
LC_METRICS_ADDR="127.0.0.1:$report_metrics" e2e_start "$build_dir/services/report/report" "$report_port"
LC_METRICS_ADDR="127.0.0.1:$interaction_metrics" e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"

# ---- Prometheus: one job per component, as the Kubernetes scrape job names them -------------------
cp "$root/k8s/prometheus/alerts.yml" "$work/alerts.yml"
{
  echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
  echo "rule_files: [$work/alerts.yml]"
  echo "scrape_configs:"
  for target in "room $room_metrics" "catalog $catalog_metrics" "order $order_metrics" \
      "attribution $attribution_metrics" "report $report_metrics" \
      "interaction $interaction_metrics" "gateway $gateway_port"; do
    read -r job port <<<"$target"
    echo "  - {job_name: $job, static_configs: [{targets: ['127.0.0.1:$port']}]}"
  done
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool rejects the generated config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >>"$e2e_log" 2>&1 &
e2e_pids+=($!)
prom_pid=$!

lc_wait() { for _ in $(seq 1 150); do "$@" && return 0; sleep 0.1; done; return 1; }
lc_wait curl -sf "$prom/-/ready" -o /dev/null || fail "prometheus never ready"
lc_wait bash -c "curl -sf $base/readyz >/dev/null" || fail "readyz never 200: $(curl -s $base/readyz)"

# ---- A viewer's journey through the gateway ----------------------------------------------------------
# http METHOD PATH TOKEN [BODY] [REQUEST_ID]: the body goes to $out, the status to $code, the
# answer's headers to $headers.
http() {
  local method="$1" path="$2" token="$3" body="${4:-}" request_id="${5:-}"
  local args=(-s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "$base$path")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  [ -n "$request_id" ] && args+=(-H "X-Request-Id: $request_id")
  code="$(curl "${args[@]}")"
  out="$(cat "$work/body")"
  headers="$(cat "$work/headers")"
}

ops="$("$admin" token issue --role ops --brand e2e --subject ops-anna | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
http POST /v1/login "" '{"code": "alice", "brand_id": "e2e"}'
expect 200 login
alice="$(j 'd["token"]')"
grep -qiE '^x-request-id: [0-9a-f]{16}' <<<"$headers" || fail "no X-Request-Id made for the login: $headers"
http POST /v1/rooms "$ops" '{"title": "Metrics preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
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
http GET "/v1/rooms/$room/products" "$alice"
expect 200 "room products"
http POST "/v1/rooms/$room/join" "$alice" '{"device_id": "phone-1"}'
expect 200 join
checkout_id="e2e-checkout-$RANDOM$RANDOM"
http POST /v1/checkout "$alice" "{\"idempotency_key\": \"alice-1\", \"lines\": [{\"sku_id\": \"$sku\", \"quantity\": \"1\"}], \"room\": {\"room_id\": \"$room\"}, \"address\": {\"recipient\": \"Alice\", \"phone\": \"13800000000\", \"province\": \"Shanghai\", \"city\": \"Shanghai\", \"district\": \"Huangpu\", \"street\": \"1 Bund\", \"postal_code\": \"200000\"}}" "$checkout_id"
expect 200 checkout
order="$(j 'd["order"]["id"]')"
grep -qi "^x-request-id: $checkout_id" <<<"$headers" || fail "checkout: X-Request-Id not echoed: $headers"
http POST "/v1/orders/$order/sandbox-pay" "$alice"
expect 200 "sandbox pay"
[ "$(j 'd["order"]["status"]')" = "ORDER_STATUS_PAID" ] || fail "pay: $out"

# ---- One grep follows the checkout through the gateway and the services it reached ----------------
for component in gateway order catalog; do
  grep "rid=$checkout_id" "$e2e_log" | grep -q "\[$component\]" ||
    fail "no $component log line carries the checkout's request id $checkout_id"
done
grep "rid=$checkout_id" "$e2e_log" | grep -q "rpc livecommerce.v1.OrderService/Checkout OK" ||
  fail "no access line for the Checkout RPC"

# ---- What Prometheus saw ---------------------------------------------------------------------------
# query EXPR: the first sample's value, or "none".
query() {
  curl -s "$prom/api/v1/query" --data-urlencode "query=$1" | $py -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")'
}
# until_query EXPR TEST WHAT: polls (20 s at most) until the value passes TEST (a Python
# expression on v, a float).
until_query() {
  local value
  for _ in $(seq 1 100); do
    value="$(query "$1")"
    if [ "$value" != none ] && $py -c "import sys; v=float(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$value"; then
      echo "prometheus: $3: $1 = $value"
      return 0
    fi
    sleep 0.2
  done
  fail "prometheus: $3: $1 is $value, wanted $2"
}
until_query 'sum(lc_grpc_server_handled_total{job="order",method="Checkout",code="OK"})' 'v >= 1' "Checkout counted in the order service"
until_query 'sum(lc_grpc_server_handling_seconds_count{job="order",method="Checkout"})' 'v >= 1' "Checkout timed"
until_query 'sum(lc_grpc_server_handled_total{job="catalog",code="OK"})' 'v >= 1' "the catalog's RPCs counted"
until_query 'sum(lc_gateway_http_requests_total{job="gateway",route="checkout",status="200"})' 'v == 1' "the gateway's checkout route"
until_query 'sum(lc_gateway_http_requests_total{job="gateway",route="orders.sandbox_pay"})' 'v == 1' "the gateway's sandbox-pay route"
until_query 'lc_pool_connections{job="order",pool="mysql"}' 'v > 0' "the order service's MySQL pool"
until_query 'lc_pool_connections{job="room",pool="redis"}' 'v > 0' "the room service's Redis pool"
until_query 'max(lc_outbox_lag_seconds{job="order"})' 'v == 0' "the outbox lag back to 0"
until_query 'count(up == 1)' 'v == 7' "every target up"
until_query 'count(up)' 'v == 7' "seven targets"
# The rules load and are evaluated (none fires on a healthy stack).
rules="$(curl -s "$prom/api/v1/rules")"
$py -c 'import json,sys; g=json.loads(sys.argv[1])["data"]["groups"]; n=sum(len(x["rules"]) for x in g); sys.exit(0 if n >= 6 else 1)' "$rules" ||
  fail "prometheus loaded no alert rules: $rules"

kill -TERM "$prom_pid"
wait "$prom_pid" 2>/dev/null || true
echo "PASS: prometheus saw every service, the gateway, the checkout and the outbox drained"
