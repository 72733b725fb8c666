#!/usr/bin/env bash
# End to end: the real room binary (wiring in main.cc). Starts it, drives it with lcctl, checks
# that a bad configuration stops it with a message naming the variable, and that SIGTERM shuts it
# down cleanly with exit code 0; and that no polling stall delays a synchronous call (gRPC 1.51).
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
room="$build_dir/services/room/room"
lcctl="$build_dir/services/cli/lcctl"
port="$(e2e_port)"
export LC_ROOM_ADDR="127.0.0.1:$port"

if LC_PRESENCE_BUCKETS=lots "$room" >"$e2e_log" 2>&1; then fail "started with a bad LC_PRESENCE_BUCKETS"; fi
grep -q "LC_PRESENCE_BUCKETS" "$e2e_log" || fail "error does not name LC_PRESENCE_BUCKETS"

e2e_start "$room" "$port"
room_pid="${e2e_pids[-1]}"
room_id="$("$lcctl" --brand e2e room create --title "E2E room" --visibility public | json_field id)"
[ -n "$room_id" ] || fail "no room id"
"$lcctl" --brand e2e room live "$room_id" >/dev/null || fail "go live"
"$lcctl" --brand e2e --as viewer --subject e2e-viewer join "$room_id" >/dev/null || fail "join"
stats="$("$lcctl" --brand e2e room stats "$room_id")"
grep -q '"concurrent_viewers": "1"' <<<"$stats" || fail "stats: $stats"
if "$lcctl" --brand e2e --as viewer room create --title nope 2>/dev/null; then fail "viewer created a room"; fi
# No polling stall: a synchronous method answers within 60 ms at every moment, also after the
# process idled (poller_keepalive.h).
/usr/bin/python3 "$(dirname "$0")/poller_stall_probe.py" "127.0.0.1:$port" \
  /livecommerce.v1.RoomService/GetRoom || fail "polling stall"

e2e_stop "$room_pid" room
echo "1 passed, 0 failed"
