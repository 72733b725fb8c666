#!/usr/bin/env bash
# Reports from a read replica: starts a MariaDB primary (binary log on) and a read-only replica of
# it on free loopback ports, replicating with GTIDs, then runs report_replica_itest against both:
# the report service's aggregates are kept on the primary and its reports read from the replica.
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/../../scripts/lib.sh"

tmp="$(mktemp -d /tmp/lc-replica.XXXXXX)"
primary_port="$(lc_free_port)"
replica_port="$(lc_free_port)"
while [ "$replica_port" = "$primary_port" ]; do replica_port="$(lc_free_port)"; done
cleanup() {
  lc_stop_mariadb "$tmp/replica"
  lc_stop_mariadb "$tmp/primary"
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -20 "$tmp"/*/mysqld.err 2>/dev/null || true
  exit 1
}

LC_DATABASES=lc_replica lc_start_mariadb "$tmp/primary" "$primary_port" \
  --server-id=1 --log-bin="$tmp/primary/binlog" --binlog-format=ROW --sync-binlog=1
LC_DATABASES=lc_replica lc_start_mariadb "$tmp/replica" "$replica_port" \
  --server-id=2 --read-only=1 --relay-log="$tmp/replica/relay"

primary=(mariadb -h127.0.0.1 -P"$primary_port" -uroot)
replica=(mariadb -h127.0.0.1 -P"$replica_port" -uroot)
# Replicate from here on: both servers already have the database and the lc user.
"${primary[@]}" -e "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl';
  GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';"
position="$("${primary[@]}" -N -e "SELECT @@gtid_binlog_pos")"
"${replica[@]}" -e "SET GLOBAL gtid_slave_pos = '$position';
  CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port, MASTER_USER='repl',
    MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos;
  GRANT REPLICATION SLAVE ADMIN ON *.* TO 'lc'@'127.0.0.1';
  START SLAVE;"
for _ in $(seq 1 100); do
  running="$("${replica[@]}" -e "SHOW SLAVE STATUS\G" | sed -n 's/^ *Slave_SQL_Running: //p')"
  [ "$running" = Yes ] && break
  sleep 0.1
done
[ "$running" = Yes ] || fail "the replica does not replicate"

LC_TEST_MYSQL="127.0.0.1:$primary_port" LC_TEST_MYSQL_REPLICA="127.0.0.1:$replica_port" \
  LC_TEST_MYSQL_DATABASE=lc_replica LC_TEST_MIGRATIONS_DIR="$LC_ROOT/db/migrations" \
  "$build_dir/tests/report_replica_itest" || fail "report_replica_itest"
