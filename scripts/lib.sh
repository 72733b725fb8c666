# Shared shell functions for scripts/run, scripts/test and bench/run: build, and start/stop the
# project's own redis-server and mariadbd on loopback. Source it; do not run it.

LC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LC_BUILD_DIR="${LC_BUILD_DIR:-$LC_ROOT/build}"

lc_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

lc_build() {
  if [ ! -f "$LC_BUILD_DIR/build.ninja" ]; then
    # Line tables only (-g1): backtraces and gdb still name file and line, and a clean build on 2
    # cores is about a seventh faster than with full debug information (-g); with the shared
    # precompiled header (cmake/LcPch.cmake) about half as long as without either.
    cmake -S "$LC_ROOT" -B "$LC_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DLC_WERROR=ON >/dev/null
  fi
  ninja -C "$LC_BUILD_DIR" ${LC_BUILD_TARGETS:-}
}

# lc_npm_ci DIR: installs DIR's locked npm packages (npm ci), only when its package-lock.json
# changed since the last install (a stamp in node_modules remembers it).
lc_npm_ci() {
  local dir="$1"
  local stamp="$dir/node_modules/.lc-lock-sha"
  local sha
  sha="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sha" ]; then
    lc_log "$(basename "$dir"): npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    echo "$sha" >"$stamp"
  fi
}

# lc_build_console [--test]: installs the console's locked npm packages (lc_npm_ci), builds
# console/dist (served by the gateway under /console/ with LC_GATEWAY_CONSOLE_DIR) and, with
# --test, runs its Vitest unit tests.
lc_build_console() {
  local dir="$LC_ROOT/console"
  lc_npm_ci "$dir" || return 1
  lc_log "console: npm run build"
  (cd "$dir" && npm run --silent build >/dev/null) || { (cd "$dir" && npm run build); return 1; }
  if [ "${1:-}" = "--test" ]; then
    lc_log "console: npm test (Vitest)"
    (cd "$dir" && npm test --silent) || return 1
  fi
}

# A free TCP port on 127.0.0.1 below 32768 (outside Linux's ephemeral range).
# Ports handed out are kept in a file (callers use $(...) subshells), so two picks made before
# either is bound are never the same port.
lc_free_port() {
  local port taken="/tmp/lc-ports-$$"
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 12000 ))
    grep -qx "$port" "$taken" 2>/dev/null && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port" >>"$taken"
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# lc_wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
lc_wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      lc_log "timed out waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# lc_start_redis DIR PORT [extra redis-server args...]
lc_start_redis() {
  local dir="$1" port="$2"
  shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" "$@"
  lc_wait_for "redis on $port" 10 redis-cli -p "$port" ping
}

lc_stop_redis() {
  local dir="$1" port="$2"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  if [ -f "$dir/redis.pid" ]; then
    kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  fi
}

# lc_start_mariadb DIR PORT [MARIADBD OPTION...]: makes the data directory on first use, starts
# mariadbd (with any extra options), and creates the application user lc/lc and the databases
# named in LC_DATABASES (default: livecommerce).
lc_start_mariadb() {
  local dir="$1" port="$2"
  shift 2
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  fi
  mariadbd --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --user="$(id -un)" \
    --log-error="$dir/mysqld.err" --innodb-flush-log-at-trx-commit=1 \
    --innodb-buffer-pool-size=256M --max-connections=500 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --skip-name-resolve "$@" >/dev/null 2>&1 &
  lc_wait_for "mariadb on $port" 120 mariadb -h127.0.0.1 -P"$port" -uroot -e "SELECT 1"
  local sql="CREATE USER IF NOT EXISTS 'lc'@'127.0.0.1' IDENTIFIED BY 'lc';"
  local db
  for db in ${LC_DATABASES:-livecommerce}; do
    sql+="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;"
    sql+="GRANT ALL ON \`$db\`.* TO 'lc'@'127.0.0.1';"
  done
  mariadb -h127.0.0.1 -P"$port" -uroot -e "$sql"
}

lc_stop_mariadb() {
  local dir="$1"
  if [ -f "$dir/mysqld.pid" ]; then
    local pid
    pid="$(cat "$dir/mysqld.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

# lc_start_redis_cluster DIR: six redis-server processes on free loopback ports (each with its own
# directory under DIR and its own cluster bus port), joined by `redis-cli --cluster create` into a
# Redis Cluster of three masters with one replica each; returns once every node says
# cluster_state:ok and every replica's link to its master is up. Sets LC_CLUSTER_PORTS (array) and
# writes the ports to DIR/ports. Stop it with lc_stop_redis_cluster DIR.
lc_start_redis_cluster() {
  local dir="$1" i port bus
  LC_CLUSTER_PORTS=()
  mkdir -p "$dir"
  : >"$dir/ports"
  for i in 0 1 2 3 4 5; do
    port="$(lc_free_port)"
    bus="$(lc_free_port)"
    while [ "$bus" = "$port" ]; do bus="$(lc_free_port)"; done
    echo "$port" >>"$dir/ports"
    lc_start_redis "$dir/node$i" "$port" --cluster-enabled yes --cluster-port "$bus" \
      --cluster-config-file "$dir/node$i/nodes.conf" --cluster-node-timeout 1000 || return 1
    LC_CLUSTER_PORTS+=("$port")
  done
  local nodes=()
  for port in "${LC_CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; return 1; }
  lc_wait_for "redis cluster" 30 _lc_redis_cluster_ready "${LC_CLUSTER_PORTS[@]}"
}

_lc_redis_cluster_ready() {
  local port info
  for port in "$@"; do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || return 1
    info="$(redis-cli -p "$port" info replication)"
    if grep -q '^role:slave' <<<"$info"; then
      grep -q '^master_link_status:up' <<<"$info" || return 1
    fi
  done
}

lc_stop_redis_cluster() {
  local dir="$1" i=0 port
  [ -f "$dir/ports" ] || return 0
  while read -r port; do
    lc_stop_redis "$dir/node$i" "$port"
    i=$((i + 1))
  done <"$dir/ports"
}

# lc_start_nginx_rtmp DIR RTMP_PORT HTTP_PORT CALLBACK_BASE PLAY_SECRET: the local streaming
# server (docs/STREAMING.md), nginx with Debian's RTMP module, on 127.0.0.1. Writes DIR/nginx.conf
# from scripts/nginx-rtmp.conf.template (HLS under DIR/hls, recordings under DIR/recordings, pid,
# logs and temporary files under DIR), starts it as the current user and returns once both ports
# answer. CALLBACK_BASE is the http URL the callbacks go to (CALLBACK_BASE/on_publish, ...);
# PLAY_SECRET signs the play URLs. Stop it with lc_stop_nginx_rtmp DIR.
lc_start_nginx_rtmp() {
  local dir="$1" rtmp_port="$2" http_port="$3" callback_base="$4" play_secret="$5"
  local module=/usr/lib/nginx/modules/ngx_rtmp_module.so
  local template="$LC_ROOT/scripts/nginx-rtmp.conf.template"
  if [ ! -f "$module" ]; then
    lc_log "nginx-rtmp: $module missing (scripts/deps installs libnginx-mod-rtmp)"
    return 1
  fi
  if [[ ! "$rtmp_port" =~ ^[0-9]+$ || ! "$http_port" =~ ^[0-9]+$ ]]; then
    lc_log "nginx-rtmp: RTMP_PORT and HTTP_PORT must be port numbers"
    return 1
  fi
  # Both values are pasted into nginx's configuration: anything that could end a directive or
  # name an nginx variable ($) is refused rather than escaped.
  if [[ ! "$callback_base" =~ ^http://[A-Za-z0-9._:/~%-]+$ ]]; then
    lc_log "nginx-rtmp: CALLBACK_BASE must be an http:// URL of letters, digits and ._:/~%-"
    return 1
  fi
  if [[ ! "$play_secret" =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]]; then
    lc_log "nginx-rtmp: PLAY_SECRET must be at least 16 characters of A-Za-z0-9._~+/=-"
    return 1
  fi
  # nginx runs the remux script by this path (exec_record_done): it too goes into the file.
  local remux="$LC_ROOT/scripts/remux-recording"
  if [[ ! "$remux" =~ ^/[A-Za-z0-9._/-]+$ ]]; then
    lc_log "nginx-rtmp: the project's path must be letters, digits and ._/- (it is $LC_ROOT)"
    return 1
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  mkdir -p "$dir/hls" "$dir/recordings" "$dir/tmp"
  # Without a user directive, nginx started by root runs its worker as nobody, which could not
  # write under DIR; started by anyone else, nginx ignores the directive (with a warning).
  local user_line="# not root: the worker runs as the user who started nginx"
  if [ "$(id -u)" -eq 0 ]; then user_line="user $(id -un) $(id -gn);"; fi
  local conf
  conf="$(<"$template")" || return 1
  # Quoted replacements: bash 5.2 would otherwise read & in a value as the matched text.
  conf="${conf//@USER_LINE@/"$user_line"}"
  conf="${conf//@DIR@/"$dir"}"
  conf="${conf//@RTMP_PORT@/"$rtmp_port"}"
  conf="${conf//@HTTP_PORT@/"$http_port"}"
  conf="${conf//@CALLBACK_BASE@/"$callback_base"}"
  conf="${conf//@PLAY_SECRET@/"$play_secret"}"
  conf="${conf//@REMUX@/"$remux"}"
  # The file holds both secrets.
  (umask 077 && printf '%s\n' "$conf" >"$dir/nginx.conf") || return 1
  if ! nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$dir/start.log" 2>&1; then
    lc_log "nginx-rtmp: nginx did not start:" \
      "$(tail -n 5 "$dir/start.log" "$dir/error.log" 2>/dev/null)"
    return 1
  fi
  if ! lc_wait_for "nginx-rtmp RTMP on $rtmp_port" 10 \
      bash -c "exec 3<>/dev/tcp/127.0.0.1/$rtmp_port" ||
    ! lc_wait_for "nginx-rtmp HTTP on $http_port" 10 \
      curl -s -o /dev/null "http://127.0.0.1:$http_port/"; then
    lc_log "nginx-rtmp: see $dir/error.log"
    return 1
  fi
}

# lc_stop_nginx_rtmp DIR: fast shutdown (a graceful one would wait for the pushes to end).
lc_stop_nginx_rtmp() {
  local dir="$1" pid
  [ -f "$dir/nginx.pid" ] || return 0
  pid="$(cat "$dir/nginx.pid")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  pkill -9 -P "$pid" 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
}
