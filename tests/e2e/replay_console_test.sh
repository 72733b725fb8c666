#!/usr/bin/env bash
# Before and after the live in the console's real pages, in headless Chromium, with the real
# services behind the real gateway, the local streaming server (nginx-rtmp) and ffmpeg pushing:
# ops open a private room scheduled to start on publish, with a product; an associate invites a
# viewer and sends the session card (the link's mini-program code shows on the associate page);
# the viewer opens the invite on the H5 page and taps "remind me" (reserved; the associate page
# lists them); the push makes the room live and ops pin the product, then unpin it (a product
# moment); the sandbox sender's reminder shows SENT with its message on the ops room page; the push
# stops and the session ends; its recording becomes the replay; the viewer's H5 page plays it,
# jumps to the product's moment (within 1 s of the server's offset) and buys from the replay; the
# session report shows the order as a replay sale credited to the inviting associate.
# console/e2e/replay.mjs drives the browser; screenshots in var/console-screenshots/replay-*.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../../scripts/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
admin="$build_dir/gateway/lc-admin"
chromium="${LC_CHROMIUM:-/usr/bin/chromium}"
py=/usr/bin/python3
[ -x "$chromium" ] || fail "no chromium at $chromium (scripts/deps installs it)"
[ -f "$root/console/dist/index.html" ] || fail "console/dist is not built (scripts/test runs lc_build_console)"
[ -d "$root/console/node_modules/playwright-core" ] || fail "console/node_modules is missing (npm ci in console/)"
command -v ffmpeg >/dev/null || fail "no ffmpeg (scripts/deps installs it)"

e2e_stack_ports
rtmp_port="$(e2e_port)"
play_port="$(e2e_port)"
work="$(mktemp -d /tmp/lc-replay-e2e.XXXXXX)"
callback_secret="e2e-callback-secret-$RANDOM$RANDOM"
export LC_STREAM_PROVIDER=local
export LC_STREAM_RTMP_URL="rtmp://127.0.0.1:$rtmp_port/live"
export LC_STREAM_PLAY_BASE="http://127.0.0.1:$play_port"
export LC_STREAM_CONTROL_URL="http://127.0.0.1:$play_port/control"
export LC_STREAM_PLAY_SECRET="e2e-play-secret-0123456789"
export LC_STREAM_CALLBACK_SECRET="$callback_secret"
# The session ends 3 s after the push stops; play addresses outlive the test.
export LC_STREAM_GRACE_MS=3000 LC_STREAM_PLAY_TTL_MS=600000
# The sandbox sender records the reminder it would send; the worker looks every 200 ms.
export LC_REMINDER_SENDER=sandbox LC_REMINDER_POLL_MS=200
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100
export LC_SESSION_SECRET="e2e-replay-secret-0123456789abcdef"
export LC_GATEWAY_CONSOLE_DIR="$root/console/dist"
base="http://127.0.0.1:$gateway_port"

ffmpeg_pid=""
cleanup() {
  [ -n "$ffmpeg_pid" ] && kill -9 "$ffmpeg_pid" 2>/dev/null || true
  lc_stop_nginx_rtmp "$work/nginx"
  rm -rf "$work"
  e2e_cleanup
}
trap cleanup EXIT

e2e_start "$build_dir/services/room/room" "$room_port"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
e2e_start "$build_dir/services/order/order" "$order_port"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
e2e_start "$build_dir/services/report/report" "$report_port"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"
lc_start_nginx_rtmp "$work/nginx" "$rtmp_port" "$play_port" \
  "$base/v1/stream/local/$callback_secret" "$LC_STREAM_PLAY_SECRET" >>"$e2e_log" 2>&1 ||
  fail "nginx-rtmp did not start"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/readyz" >/dev/null || fail "readyz never 200"

# A brand of its own; ops, a store, an associate and a viewer.
brand="replay$$$RANDOM"
token() { "$admin" token issue --role "$1" --brand "$brand" --subject "$2" | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
ops="$(token ops ops-anna)"
http POST /v1/stores "$ops" '{"name": "Shanghai IFC", "city": "Shanghai"}'
expect 200 "store"
store="$(j 'd["store"]["id"]')"
http POST /v1/associates "$ops" "{\"store_id\": \"$store\", \"name\": \"Lin\"}"
expect 200 "associate"
associate="$(j 'd["associate"]["id"]')"
associate_token="$(token associate "$associate")"
http POST /v1/login "" "{\"code\": \"viewer-wen\", \"brand_id\": \"$brand\"}"
expect 200 "viewer login"
viewer="$(j 'd["token"]')"

# ---- A private room, scheduled tomorrow, that goes live when its encoder pushes ------------------
start="$($py -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))')"
http POST /v1/rooms "$ops" "{\"title\": \"Thursday private preview\", \"scheduled_start\": \"$start\",
  \"visibility\": \"VISIBILITY_PRIVATE\", \"audiences\": [\"AUDIENCE_CLIENTS\"],
  \"objective\": \"OBJECTIVE_PURCHASE\", \"format\": \"FORMAT_SALES_DRIVEN\", \"start_on_publish\": true,
  \"associate_invites\": {\"enabled\": true, \"quota_per_associate\": 5}}"
expect 200 "create room"
room="$(j 'd["room"]["id"]')"
http POST /v1/products "$ops" '{"name": "Capucines MM", "list_price": {"amount_fen": "3200000", "currency": "CNY"}, "skus": [{"sku_code": "CAP-MM-NOIR", "on_hand": "5"}]}'
expect 200 "create product"
product="$(j 'd["product"]["id"]')"
sku="$(j 'd["product"]["skus"][0]["id"]')"
http POST "/v1/products/$product/activate" "$ops" '{}'
expect 200 "activate product"
http POST "/v1/rooms/$room/products" "$ops" "{\"product_id\": \"$product\"}"
expect 200 "attach product"
http GET "/v1/rooms/$room/push-address" "$ops"
expect 200 "push address"
push_url="$(j 'd["push"]["url"]')"

# ---- The associate invites the viewer ------------------------------------------------------------
http POST "/v1/rooms/$room/invites" "$associate_token" '{"cohort": "VIP", "count": 1}'
expect 200 "the associate's invite"
invite="$(j 'd["invites"][0]["token"]')"

shots="$root/var/console-screenshots"
mkdir -p "$shots"
rm -f "$shots"/replay-*.png
LC_CONSOLE_DIR="$root/console" LC_CHROMIUM="$chromium" LC_CONSOLE_URL="$base/console/" \
  LC_API="$base" LC_BRAND="$brand" LC_ROOM_ID="$room" LC_PRODUCT_ID="$product" LC_SKU_ID="$sku" \
  LC_OPS_TOKEN="$ops" LC_ASSOCIATE_TOKEN="$associate_token" LC_ASSOCIATE_ID="$associate" \
  LC_VIEWER_TOKEN="$viewer" LC_INVITE="$invite" LC_PUSH_URL="$push_url" LC_WORK="$work" \
  LC_SCREENSHOTS="$shots" node "$root/console/e2e/replay.mjs" ||
  fail "the reserve → live → reminder → replay → buy flow (screenshots in $shots)"
echo "replay console e2e: ok (screenshots in $shots)"
