#!/usr/bin/env bash
# The console in a real browser (Debian's chromium, headless, driven by playwright-core) against
# the real room, catalog, order, attribution and report binaries behind the real gateway, which
# serves the built console (LC_GATEWAY_CONSOLE_DIR=console/dist). console/e2e/flow.mjs: finance
# sets a commission rule; ops create a private room with a product and a flash sale, go live and
# issue an invite on behalf of an associate; a viewer opens the invite link on the H5 page (phone
# width), signs in, flash-buys, checks out and pays in the sandbox; the ops dashboard shows the
# viewer and the order within 2 s; the associate page shows the client watching and the
# commission; finance sees the commission in the statement, drills down to the order lines and
# exports the CSV, whose totals match. No browser console errors; every page loads in under 1 s.
# Screenshots go to var/console-screenshots/.
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
export LC_SESSION_SECRET="e2e-console-secret-0123456789abcdef"
export LC_HEARTBEAT_INTERVAL_MS=2000 LC_PRESENCE_WINDOW_MS=6000
export LC_GATEWAY_CONSOLE_DIR="$console/dist"
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

# A brand of its own, so the statement and the reports hold this run's data only.
brand="console$$$RANDOM"
token() { "$admin" token issue --role "$1" --brand "$brand" --subject "$2" | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
ops="$(token ops ops-anna)"
finance="$(token finance fin-fay)"
# The team: a store and an associate (set up over the API; the console does not manage staff).
post() { curl -sf -X POST "$base$1" -H "Authorization: Bearer $ops" -H 'Content-Type: application/json' -d "$2"; }
store="$(post /v1/stores '{"name": "Shanghai IFC", "city": "Shanghai"}' | $py -c 'import json,sys; print(json.load(sys.stdin)["store"]["id"])')" || fail "store"
associate="$(post /v1/associates "{\"store_id\": \"$store\", \"name\": \"Lin\"}" | $py -c 'import json,sys; print(json.load(sys.stdin)["associate"]["id"])')" || fail "associate"
associate_token="$(token associate "$associate")"

shots="$root/var/console-screenshots"
mkdir -p "$shots"
LC_CONSOLE_URL="$base/console/" LC_BRAND="$brand" LC_OPS_TOKEN="$ops" LC_FINANCE_TOKEN="$finance" \
  LC_ASSOCIATE_TOKEN="$associate_token" LC_ASSOCIATE_ID="$associate" LC_STORE_ID="$store" \
  LC_CHROMIUM="$chromium" LC_SCREENSHOTS="$shots" \
  node "$console/e2e/flow.mjs" || fail "console flow (screenshots in $shots)"
echo "console e2e: ok (screenshots in $shots)"
