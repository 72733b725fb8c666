# Shared by the end-to-end scripts: real service binaries against the Redis and MariaDB that
# scripts/test started (LC_TEST_*). Source it with the build directory as $1 of the caller.
: "${LC_TEST_REDIS:?run through scripts/test}" "${LC_TEST_MYSQL:?run through scripts/test}"
export LC_REDIS_HOST="${LC_TEST_REDIS%:*}" LC_REDIS_PORT="${LC_TEST_REDIS#*:}"
export LC_MYSQL_HOST="${LC_TEST_MYSQL%:*}" LC_MYSQL_PORT="${LC_TEST_MYSQL#*:}"
export LC_MYSQL_DATABASE="$LC_TEST_MYSQL_DATABASE"

# Every end-to-end test starts from empty tables and an empty Redis. The integration tests before
# it empty only the tables they use, so ids restart under rows of other tables that still point at
# them (a new session id with an older test's orders, a report cursor past the new rows). The
# settlement clock's one row, made by its migration, is set back rather than removed.
e2e_fresh_state() {
  local sql="SET FOREIGN_KEY_CHECKS = 0;" table
  for table in $(mariadb -h"$LC_MYSQL_HOST" -P"$LC_MYSQL_PORT" -u"${LC_MYSQL_USER:-lc}" \
      -p"${LC_MYSQL_PASSWORD:-lc}" -N -B -e "SELECT table_name FROM information_schema.tables \
      WHERE table_schema = '$LC_MYSQL_DATABASE' AND table_name NOT IN ('schema_migrations', \
      'settlement_clock')"); do
    sql+="TRUNCATE TABLE \`$table\`;"
  done
  mariadb -h"$LC_MYSQL_HOST" -P"$LC_MYSQL_PORT" -u"${LC_MYSQL_USER:-lc}" \
    -p"${LC_MYSQL_PASSWORD:-lc}" "$LC_MYSQL_DATABASE" -e "$sql SET FOREIGN_KEY_CHECKS = 1; \
    UPDATE settlement_clock SET settled_through = '1970-01-01 00:00:00' WHERE id = 1;"
  redis-cli -h "$LC_REDIS_HOST" -p "$LC_REDIS_PORT" FLUSHALL >/dev/null
}
e2e_fresh_state
e2e_log="$(mktemp)"
e2e_pids=()
e2e_cleanup() {
  for pid in "${e2e_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$e2e_log" "/tmp/lc-ports-$$" "$e2e_body"
}
trap e2e_cleanup EXIT

fail() { echo "FAIL: $*"; cat "$e2e_log"; exit 1; }

# e2e_port: a free port below 32768.
# Ports handed out by this script are kept in a file (its calls run in subshells), so two picks
# made before either is bound are never the same port (scripts/lib.sh's lc_free_port shares it).
e2e_port() {
  local port taken="/tmp/lc-ports-$$"
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 12000 ))
    grep -qx "$port" "$taken" 2>/dev/null && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port" >>"$taken"
      echo "$port"
      return 0
    fi
  done
  return 1
}

# e2e_stack_ports: free ports for the six services and the gateway (room_port ... gateway_port),
# and the addresses they find each other by.
e2e_stack_ports() {
  room_port="$(e2e_port)"
  catalog_port="$(e2e_port)"
  order_port="$(e2e_port)"
  attribution_port="$(e2e_port)"
  report_port="$(e2e_port)"
  interaction_port="$(e2e_port)"
  gateway_port="$(e2e_port)"
  export LC_ROOM_ADDR="127.0.0.1:$room_port" LC_CATALOG_ADDR="127.0.0.1:$catalog_port"
  export LC_ORDER_ADDR="127.0.0.1:$order_port" LC_GATEWAY_PORT="$gateway_port"
  export LC_ATTRIBUTION_ADDR="127.0.0.1:$attribution_port" LC_REPORT_ADDR="127.0.0.1:$report_port"
  export LC_INTERACTION_ADDR="127.0.0.1:$interaction_port"
}

# e2e_start BINARY PORT: starts a service, waits for its port; its pid is the last of e2e_pids.
# Its metrics go to a port of its own (any free one) unless LC_METRICS_ADDR says where, so a test
# never takes a running stack's 9101-9105.
e2e_start() {
  LC_METRICS_ADDR="${LC_METRICS_ADDR-127.0.0.1:0}" "$1" >>"$e2e_log" 2>&1 &
  e2e_pids+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "$1 did not listen on $2"
}

# e2e_stop PID NAME: SIGTERM, expect exit code 0 and a clean stop in the log.
e2e_stop() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" -eq 0 ] || fail "$2: exit code $rc after SIGTERM"
  grep -q "$2 service stopped" "$e2e_log" || fail "$2: no clean stop in the log"
}

# http METHOD PATH TOKEN [BODY]: one call to the gateway at $base (TOKEN empty: none; BODY JSON,
# or @FILE); the status to $code, the body to $out.
e2e_body="/tmp/lc-e2e-body.$$"
http() {
  local args=(-s -o "$e2e_body" -w '%{http_code}' -X "$1" "$base$2")
  [ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  code="$(curl "${args[@]}")"
  out="$(cat "$e2e_body")"
}
# expect CODE WHAT: the last http call answered CODE.
expect() { [ "$code" = "$1" ] || fail "$2: expected $1, got $code: $out"; }
# j EXPR: a value of the last answer, a Python expression on `d` (read from stdin: an answer can
# be longer than an argument may be).
j() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$out"; }

# json_field NAME: the first "NAME": "value" in stdin.
json_field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -1; }
