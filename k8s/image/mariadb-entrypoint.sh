#!/bin/sh
# The first-start part of the mariadb image's entry point that the local overlay relies on: with an
# empty data directory, create the system tables, then the database and the application user from
# MARIADB_DATABASE, MARIADB_USER and MARIADB_PASSWORD (every right on that database, as lc-migrate
# needs), and give root a random password that nobody keeps (MARIADB_RANDOM_ROOT_PASSWORD). Then
# run mariadbd with the container's arguments. The first start is a server that listens on a
# socket only, so no client can connect before the user exists.
set -eu
if [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
# The marker is written last: a first start that died half way (and was restarted) starts over.
marker=/var/lib/mysql/.first-start-done
if [ "$1" != mariadbd ] || [ -f "$marker" ]; then exec "$@"; fi
find /var/lib/mysql -mindepth 1 -delete

: "${MARIADB_DATABASE:?MARIADB_DATABASE is required}" "${MARIADB_USER:?MARIADB_USER is required}"
: "${MARIADB_PASSWORD:?MARIADB_PASSWORD is required}"
# A SQL string literal: backslashes and single quotes doubled.
literal() { printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g")"; }
identifier() { printf '`%s`' "$(printf '%s' "$1" | sed 's/`/``/g')"; }

echo "mariadb-entrypoint: first start: creating the system tables" >&2
# root without a password on a server that only this script can reach; it gets a random one below.
mariadb-install-db --datadir=/var/lib/mysql --skip-test-db \
  --auth-root-authentication-method=normal >/dev/null
socket=/run/mysqld/first-start.sock
"$@" --skip-networking --socket="$socket" &
pid=$!
tries=0
until mariadb-admin --socket="$socket" --silent ping >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "mariadb-entrypoint: the first-start server did not come up" >&2
    exit 1
  fi
  sleep 0.1
done
root_password="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)"
mariadb --socket="$socket" --user=root <<SQL
-- No anonymous accounts: one would take the application user's logins from its host.
DELETE FROM mysql.global_priv WHERE User = '';
CREATE DATABASE IF NOT EXISTS $(identifier "$MARIADB_DATABASE");
CREATE USER $(literal "$MARIADB_USER")@'%' IDENTIFIED BY $(literal "$MARIADB_PASSWORD");
GRANT ALL ON $(identifier "$MARIADB_DATABASE").* TO $(literal "$MARIADB_USER")@'%';
ALTER USER 'root'@'localhost' IDENTIFIED BY $(literal "$root_password");
FLUSH PRIVILEGES;
SQL
mariadb-admin --socket="$socket" --user=root --password="$root_password" shutdown
wait "$pid" || true
touch "$marker"
echo "mariadb-entrypoint: database $MARIADB_DATABASE and user $MARIADB_USER created" >&2
exec "$@"
