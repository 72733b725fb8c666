#!/usr/bin/env bash
# The live chat in a real browser (Debian's chromium, headless, driven by playwright-core)
# against the real room, catalog, order, attribution, report and interaction binaries behind the
# real gateway, which serves the built console (LC_GATEWAY_CONSOLE_DIR=console/dist). Over the
# API: a brand of its own, a live public room, two viewers signed in. console/e2e/chat.mjs then
# drives the ops live dashboard and the two viewers' H5 pages: a viewer's comment appears on the
# other viewer's page and on the dashboard, a blocked word never reaches another screen, a deleted
# comment disappears from both, a muted viewer is told (also replies, the host badge, the
# announcement and exact likes). No browser console errors. Screenshots:
# var/console-screenshots/chat-*.png.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
console="$root/console"
admin="$build_dir/gateway/lc-admin"
[ -f "$console/dist/index.html" ] || fail "console/dist is not built (scripts/test runs lc_build_console)"
[ -d "$console/node_modules/playwright-core" ] || fail "console/node_modules is missing (npm ci in console/)"
chromium="${LC_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || fail "no chromium at $chromium (scripts/deps installs it)"

e2e_stack_ports
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100
export LC_SESSION_SECRET="e2e-chat-secret-0123456789abcdef"
export LC_GATEWAY_CONSOLE_DIR="$console/dist"
# The test's viewers comment faster than a person would; the per-viewer interval is the
# interaction service's own tests' business.
export LC_COMMENT_MIN_INTERVAL_MS=0
base="http://127.0.0.1:$gateway_port"
py=/usr/bin/python3

e2e_start "$build_dir/services/room/room" "$room_port"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
e2e_start "$build_dir/services/order/order" "$order_port"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
e2e_start "$build_dir/services/report/report" "$report_port"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/readyz" >/dev/null || fail "readyz never 200"
curl -sf "$base/console/" | grep -q '<div id="app">' || fail "the gateway does not serve the console"

brand="chat$$$RANDOM"
ops="$("$admin" token issue --role ops --brand "$brand" --subject ops-anna | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
# call METHOD PATH TOKEN [BODY]: the answer's body; fails the test on a non-2xx answer.
call() {
  local args=(-sf -X "$1" "$base$2" -H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  curl "${args[@]}" || fail "$1 $2"
}
field() { $py -c "import json,sys; print(json.load(sys.stdin)$1)"; }
room="$(call POST /v1/rooms "$ops" '{"title": "Chat preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_FOLLOWERS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}' | field '["room"]["id"]')"
call POST "/v1/rooms/$room/live" "$ops" '{}' >/dev/null
login() { curl -sf -X POST "$base/v1/login" -H 'Content-Type: application/json' -d "{\"code\": \"$1\", \"brand_id\": \"$brand\"}" | field '["token"]' || fail "login $1"; }
code_a="mei$RANDOM"
viewer_a="$(login "$code_a")"
viewer_b="$(login "tom$RANDOM")"

shots="$root/var/console-screenshots"
mkdir -p "$shots"
LC_CONSOLE_URL="$base/console/" LC_ROOM_ID="$room" LC_BRAND="$brand" LC_OPS_TOKEN="$ops" \
  LC_VIEWER_A_TOKEN="$viewer_a" LC_VIEWER_A_ID="local-$code_a" LC_VIEWER_B_TOKEN="$viewer_b" \
  LC_CHROMIUM="$chromium" LC_SCREENSHOTS="$shots" \
  node "$console/e2e/chat.mjs" || fail "chat console flow (screenshots in $shots)"
echo "chat console e2e: ok (screenshots in $shots)"
