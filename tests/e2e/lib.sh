# Shared by the end-to-end scripts: real service binaries against the Redis and MariaDB that
# scripts/test started (LC_TEST_*). Source it with the build directory as $1 of the caller.
: "${LC_TEST_REDIS:?run through scripts/test}" "${LC_TEST_MYSQL:?run through scripts/test}"
export LC_REDIS_HOST="${LC_TEST_REDIS%:*}" LC_REDIS_PORT="${LC_TEST_REDIS#*:}"
export LC_MYSQL_HOST="${LC_TEST_MYSQL%:*}" LC_MYSQL_PORT="${LC_TEST_MYSQL#*:}"
export LC_MYSQL_DATABASE="$LC_TEST_MYSQL_DATABASE"
e2e_log="$(mktemp)"
e2e_pids=()
e2e_cleanup() {
  for pid in "${e2e_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$e2e_log"
}
trap e2e_cleanup EXIT

fail() { echo "FAIL: $*"; cat "$e2e_log"; exit 1; }

# e2e_port: a free port below 32768.
e2e_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

# e2e_start BINARY PORT: starts a service, waits for its port; its pid is the last of e2e_pids.
e2e_start() {
  "$1" >>"$e2e_log" 2>&1 &
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

# json_field NAME: the first "NAME": "value" in stdin.
json_field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -1; }
