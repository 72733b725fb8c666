#!/usr/bin/env bash
# Redis Cluster: starts a real cluster of three masters and three replicas on loopback, then runs
# against it the Redis client tests, the room tests (presence store and service), the flash stock
# and flash sale tests (LC_TEST_REDIS_CLUSTER makes their Redis pools cluster pools; MariaDB is the
# one scripts/test started), and last the cluster's own tests, which fail a master over mid-sale.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/../../scripts/lib.sh"
: "${LC_TEST_MYSQL:?run through scripts/test}"

dir="$(mktemp -d /tmp/lc-cluster.XXXXXX)"
cleanup() {
  lc_stop_redis_cluster "$dir"
  rm -rf "$dir"
}
trap cleanup EXIT

lc_log "starting a redis cluster in $dir"
lc_start_redis_cluster "$dir"
export LC_TEST_REDIS_CLUSTER="127.0.0.1:${LC_CLUSTER_PORTS[0]}"
lc_log "cluster ready (${LC_CLUSTER_PORTS[*]})"

run() {
  local started=$SECONDS
  "$@" --gtest_brief=1 || { lc_log "FAILED on the cluster: $*"; exit 1; }
  lc_log "passed on the cluster in $((SECONDS - started)) s: ${*##*/}"
}
run "$build_dir/tests/common_integration_test" --gtest_filter='RedisClientTest.*'
run "$build_dir/tests/room_integration_test"
run "$build_dir/tests/flash_integration_test"
run "$build_dir/tests/redis_cluster_integration_test"
