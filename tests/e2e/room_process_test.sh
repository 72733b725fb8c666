#!/usr/bin/env bash
# End to end: the real room binary (wiring in main.cc) against the test Redis and MariaDB. Starts it,
# drives it with lcctl, checks that a bad configuration stops it with a message naming the variable,
# and that SIGTERM shuts it down cleanly with exit code 0.
set -euo pipefail
build_dir="$1"
room="$build_dir/services/room/room"
lcctl="$build_dir/services/cli/lcctl"
: "${LC_TEST_REDIS:?run through scripts/test}" "${LC_TEST_MYSQL:?run through scripts/test}"
export LC_REDIS_HOST="${LC_TEST_REDIS%:*}" LC_REDIS_PORT="${LC_TEST_REDIS#*:}"
export LC_MYSQL_HOST="${LC_TEST_MYSQL%:*}" LC_MYSQL_PORT="${LC_TEST_MYSQL#*:}"
export LC_MYSQL_DATABASE="$LC_TEST_MYSQL_DATABASE"
port=$(( 20000 + RANDOM % 12000 ))
export LC_ROOM_ADDR="127.0.0.1:$port"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

fail() { echo "FAIL: $*"; cat "$log"; exit 1; }

# A malformed variable stops the process at start-up and names the variable.
if LC_PRESENCE_BUCKETS=lots "$room" >"$log" 2>&1; then fail "started with a bad LC_PRESENCE_BUCKETS"; fi
grep -q "LC_PRESENCE_BUCKETS" "$log" || fail "error does not name LC_PRESENCE_BUCKETS"

"$room" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
created="$("$lcctl" --brand e2e room create --title "E2E room" --visibility public)" ||
  fail "create room"
room_id="$(sed -n 's/.*"id": "\([0-9]*\)".*/\1/p' <<<"$created" | head -1)"
[ -n "$room_id" ] || fail "no room id in: $created"
"$lcctl" --brand e2e room live "$room_id" >/dev/null || fail "go live"
"$lcctl" --brand e2e --as viewer --subject e2e-viewer join "$room_id" >/dev/null || fail "join"
stats="$("$lcctl" --brand e2e room stats "$room_id")"
grep -q '"concurrent_viewers": "1"' <<<"$stats" || fail "stats: $stats"
# A viewer may not create rooms.
if "$lcctl" --brand e2e --as viewer room create --title nope 2>/dev/null; then fail "viewer created a room"; fi

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM"
grep -q "room service stopped" "$log" || fail "no clean stop in the log"
echo "1 passed, 0 failed"
