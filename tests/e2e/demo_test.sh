#!/usr/bin/env bash
# End to end: scripts/demo against the real room, catalog, order, attribution and report binaries
# behind the real gateway (with the Redis and MariaDB that scripts/test started). The demo must
# exit 0; then this test checks, by its own reads through the API as ops and finance of the demo's
# brand, what must hold whatever the flash sale's race decided:
# - the flash sale sold exactly its stock: sold = total stock, nothing remaining, and exactly that
#   many units in paid orders of the sale; the demo showed refused buyers;
# - the private session's report: orders, GMV (what was paid, before refunds), refunds and net
#   sales (GMV - refunds) equal the sums over the session's paid orders, and a refund is among them;
# - the commission statement: each associate who invited clients to the private room has a
#   positive net commission, equal to the ledger entries paying them on the attributed orders; every
#   paid private order of a client they invited is credited to them, and each of its sale entries
#   is the rule's share of the amount (floor or ceiling of amount x basis points / 10,000).
set -euo pipefail
build_dir="$1"
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
e2e_stack_ports
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100
export LC_SESSION_SECRET="e2e-demo-session-secret-0123456789abcdef"
base="http://127.0.0.1:$gateway_port"
brand="demo-e2e-$(date +%s)-$$"
demo_out="$(mktemp)"
trap 'rm -f "$demo_out"; e2e_cleanup' EXIT

services=(room catalog order attribution report interaction)
for service in "${services[@]}"; do
  port_var="${service}_port"
  e2e_start "$build_dir/services/$service/$service" "${!port_var}"
done
e2e_start "$build_dir/gateway/gateway" "$gateway_port"

started=$(date +%s)
rc=0
LC_GATEWAY_URL="$base" LC_ADMIN="$build_dir/gateway/lc-admin" LC_DEMO_TIMEOUT=90 \
  "$root/scripts/demo" --brand "$brand" >"$demo_out" 2>&1 || rc=$?
echo "scripts/demo exited $rc after $(($(date +%s) - started)) s"
if [ "$rc" -ne 0 ]; then
  tail -n 40 "$demo_out"
  fail "scripts/demo exited $rc"
fi
for section in "A private client livestream" "A public livestream" "report: Autumn private preview" \
  "Reach versus conversion" "Finance: commission statement" "demo done: brand $brand"; do
  grep -qF "$section" "$demo_out" || fail "the demo's output has no \"$section\""
done
refused="$(grep -c 'refused, HTTP 409' "$demo_out" || true)"
[ "$refused" -gt 0 ] || fail "the demo shows no buyer refused by the sold-out flash sale"

token() {
  "$build_dir/gateway/lc-admin" token issue --role "$1" --brand "$brand" --subject "$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
ops="$(token ops ops-e2e-check)"
finance="$(token finance fin-e2e-check)"

python3 - "$base" "$ops" "$finance" <<'EOF' || fail "the demo's numbers do not hold"
import datetime
import json
import sys
import urllib.error
import urllib.request

base, ops, finance = sys.argv[1:4]
failures = []


def api(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: HTTP {e.code} {e.read().decode()}")


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def fen(money):
    return int((money or {}).get("amount_fen", "0"))


rooms = api("GET", "/v1/rooms?page_size=100", ops)["rooms"]
private = [r for r in rooms if r["visibility"] == "VISIBILITY_PRIVATE"]
# The studio room waits for its encoder (scripts/run --demo pushes to it).
studio = [r for r in rooms if r.get("start_on_publish")]
check(len(private) == 1 and len(studio) == 1 and len(rooms) == 3,
      f"one private room, one public room and the studio ({len(rooms)} rooms)")
check(all(r["status"] == "ROOM_STATUS_SCHEDULED" for r in studio),
      "the studio room waits for its encoder")
room = private[0]
session = room["current_session_id"]

orders = []
token = ""
while True:
    page = api("GET", f"/v1/orders?page_size=100&page_token={token}", ops)
    orders += page.get("orders", [])
    token = page.get("next_page_token", "")
    if not token:
        break
PAID = {"ORDER_STATUS_PAID", "ORDER_STATUS_FULFILLED", "ORDER_STATUS_COMPLETED",
        "ORDER_STATUS_PARTIALLY_REFUNDED", "ORDER_STATUS_REFUNDED"}
paid = [o for o in orders if o["status"] in PAID]

# The flash sale sold exactly its stock, and no more.
sales = api("GET", f"/v1/rooms/{room['id']}/flash-sales", ops)["sales"]
check(len(sales) == 1, f"one flash sale in the private room ({len(sales)})")
sale = sales[0]
stock = int(sale["total_stock"])
check(int(sale["sold"]) == stock, f"flash sale {sale['id']}: sold {sale['sold']} of {stock}")
check(int(sale["remaining"]) == 0, f"flash sale {sale['id']}: remaining {sale['remaining']}")
units = sum(int(line["quantity"]) for o in paid for line in o["lines"]
            if line.get("sale_id") == sale["id"])
check(units == stock, f"paid orders hold {units} units of the flash sale, its stock is {stock}")
open_units = sum(int(line["quantity"]) for o in orders if o["status"] == "ORDER_STATUS_PENDING_PAYMENT"
                 for line in o["lines"] if line.get("sale_id") == sale["id"])
check(open_units == 0, f"no unpaid order holds a flash piece ({open_units})")

# The private session's report against its paid orders.
in_session = [o for o in paid if o.get("room", {}).get("session_id") == session]
gmv = sum(fen(o["total"]) for o in in_session)
refunded = sum(fen(o.get("refunded")) for o in in_session)
report = api("GET", f"/v1/sessions/{session}/report", ops)["report"]
figures = report["sales"]
check(refunded > 0, f"a paid order of session {session} was refunded ({refunded} fen)")
check(int(figures["orders"]) == len(in_session),
      f"report orders {figures['orders']} = {len(in_session)} paid orders")
check(fen(figures["gmv"]) == gmv, f"report GMV {fen(figures['gmv'])} = paid {gmv} fen")
check(fen(figures["refunds"]) == refunded, f"report refunds {fen(figures['refunds'])} = {refunded}")
check(fen(figures["net_sales"]) == gmv - refunded,
      f"report net sales {fen(figures['net_sales'])} = GMV - refunds = {gmv - refunded}")
check(not report["live"] and int(report["reach"]) > 0, f"session {session} ended, reach {report['reach']}")
# Refunds by product: the refunded order's products, summing to the session's refunds.
by_product = sum(fen(row["sales"].get("refunds")) for row in report["by_product"])
check(by_product == refunded, f"refunds by product sum to {by_product} = {refunded}")
refunded_products = {line["product_id"] for o in in_session if fen(o.get("refunded")) > 0
                     for line in o["lines"]}
check(all(row["key"] in refunded_products for row in report["by_product"]
          if fen(row["sales"].get("refunds")) > 0), "only refunded orders' products carry refunds")
check(int(report["watch_seconds"]) > 0 and report["average_concurrency"] > 0,
      f"watch time {report['watch_seconds']} s, average concurrency {report['average_concurrency']}")

# The statement's commission of each inviting associate against the attributed orders.
invites = api("GET", f"/v1/rooms/{room['id']}/invites?page_size=500", ops)["invites"]
inviter = {i["bound_viewer_id"]: i["associate_id"] for i in invites
           if i["status"] == "INVITE_STATUS_BOUND" and i.get("associate_id")}
check(len(set(inviter.values())) >= 2, f"clients invited by {len(set(inviter.values()))} associates")
attributed = api("GET", "/v1/attributed-orders?page_size=500", finance)["orders"]
check(len(attributed) == len(paid), f"{len(attributed)} attributed orders, {len(paid)} paid")
entries = []
credited = {}
for a in attributed:
    detail = api("GET", f"/v1/attributed-orders/{a['order_id']}", finance)
    entries += detail["entries"]
    credited[a["order_id"]] = (a.get("associate_id", ""), fen(a["amount"]))
today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
period = {"period_start": (today - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "period_end": (today + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}
statement = api("POST", "/v1/finance/statements", finance,
                dict(period, grouping="STATEMENT_GROUPING_ASSOCIATE"))["statement"]
net = {g["recipient_id"]: int(g["totals"]["net_fen"]) for g in statement.get("groups", [])}
for associate in sorted(set(inviter.values())):
    theirs = [o for o in in_session if inviter.get(o["buyer_id"]) == associate]
    for o in theirs:
        check(credited.get(o["id"], ("", 0))[0] == associate,
              f"order {o['id']} of {o['buyer_id']}, invited by {associate}, credited to them")
    ledger = sum(fen(e["amount"]) for e in entries if e.get("recipient_id") == associate and
                 e["recipient"].endswith("ASSOCIATE"))
    check(net.get(associate, 0) > 0, f"associate {associate}: net commission {net.get(associate)}")
    check(net.get(associate) == ledger,
          f"associate {associate}: statement net {net.get(associate)} = ledger entries {ledger}")
    for e in entries:
        if (e["kind"] == "ENTRY_KIND_SALE" and e.get("recipient_id") == associate and
                e["recipient"] == "RECIPIENT_ASSOCIATE"):
            exact = credited[e["order_id"]][1] * e["basis_points"]
            check(fen(e["amount"]) in (exact // 10000, -(-exact // 10000)),
                  f"order {e['order_id']}: {associate}'s {e['basis_points']} bp = {fen(e['amount'])}")

if failures:
    sys.exit(f"{len(failures)} checks failed")
EOF

e2e_stop "${e2e_pids[-1]}" gateway
for i in 5 4 3 2 1 0; do e2e_stop "${e2e_pids[$i]}" "${services[$i]}"; done
echo "1 passed, 0 failed"
