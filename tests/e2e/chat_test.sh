#!/usr/bin/env bash
# Live chat end to end (issue 19): every service and TWO gateway instances as real processes over the test Redis and MariaDB. The WebSocket and HTTP
# checks are in chat_test.py: comments acknowledged and resent once, the same order on both
# gateways, badges, blocked words, delete, mute, ban, exact likes, thinning with a folded count,
# history for a socket that opens late, a private room's chat kept to its audience, and refusals
# over HTTP with their reason.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
admin="$build_dir/gateway/lc-admin"
py=/usr/bin/python3

e2e_stack_ports
second_gateway_port="$(e2e_port)"
export LC_SESSION_SECRET="e2e-session-secret-0123456789abcdef"
export LC_COMMENT_MIN_INTERVAL_MS=0 LC_OUTBOX_INTERVAL_MS=50
# A reader can follow 10 comments a second in this test, so a burst of 40 is thinned.
export LC_GATEWAY_CHAT_VIEWER_RATE=10 LC_GATEWAY_CHAT_CLIENT_RATE=50 LC_GATEWAY_CHAT_CLIENT_BURST=100
export LC_GATEWAY_PRINCIPAL_RATE=200 LC_GATEWAY_PRINCIPAL_BURST=400

e2e_start "$build_dir/services/room/room" "$room_port"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
e2e_start "$build_dir/services/order/order" "$order_port"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
e2e_start "$build_dir/services/report/report" "$report_port"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"
LC_GATEWAY_PORT="$second_gateway_port" e2e_start "$build_dir/gateway/gateway" "$second_gateway_port"

base="http://127.0.0.1:$gateway_port"
token() { "$admin" token issue "$@" | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
ops="$(token --role ops --brand e2e --subject ops-anna)"
rival="$(token --role ops --brand rival --subject ops-rita)"
login() {
  curl -sf -X POST "$base/v1/login" -H 'Content-Type: application/json' \
    --data-binary "{\"code\": \"$1\", \"brand_id\": \"e2e\"}" |
    $py -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
post() {  # post PATH TOKEN BODY: the answer's body (fails on a non-2xx)
  curl -sf -X POST "$base$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    --data-binary "$3" || fail "POST $1 failed"
}
room_body() {
  echo "{\"title\": \"$1\", \"scheduled_start\": \"2026-01-01T00:00:00Z\", \"visibility\": \"$2\", \"audiences\": [\"AUDIENCE_CLIENTS\"], \"objective\": \"OBJECTIVE_PURCHASE\", \"format\": \"FORMAT_SALES_DRIVEN\"}"
}
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/readyz" >/dev/null || fail "gateway never ready: $(curl -s "$base/readyz")"

public="$(post /v1/rooms "$ops" "$(room_body 'Autumn bags' VISIBILITY_PUBLIC)" | $py -c 'import json,sys; print(json.load(sys.stdin)["room"]["id"])')"
private="$(post /v1/rooms "$ops" "$(room_body 'VIP preview' VISIBILITY_PRIVATE)" | $py -c 'import json,sys; print(json.load(sys.stdin)["room"]["id"])')"
post "/v1/rooms/$public/live" "$ops" '{}' >/dev/null
post "/v1/rooms/$private/live" "$ops" '{}' >/dev/null
# The private room's invite is the associate Lin's: her client's questions become her alerts.
store="$(post /v1/stores "$ops" '{"name": "Shanghai IFC"}' | $py -c 'import json,sys; print(json.load(sys.stdin)["store"]["id"])')"
lin="$(post /v1/associates "$ops" "{\"store_id\": \"$store\", \"name\": \"Lin\"}" | $py -c 'import json,sys; print(json.load(sys.stdin)["associate"]["id"])')"
lin_token="$(token --role associate --brand e2e --subject "$lin")"
invite="$(post "/v1/rooms/$private/invites" "$ops" "{\"cohort\": \"VIP\", \"associate_id\": \"$lin\", \"count\": 1}" | $py -c 'import json,sys; print(json.load(sys.stdin)["invites"][0]["token"])')"

viewers=()
for name in alice bob carol dave erin frank; do viewers+=("$(login "$name")"); done

$py "$(dirname "$0")/chat_test.py" "127.0.0.1:$gateway_port" "127.0.0.1:$second_gateway_port" \
  "$public" "$private" "$invite" "$ops" "$rival" "${viewers[@]}" "$lin_token" || fail "chat checks failed"
echo "PASS: live chat through two gateways"
