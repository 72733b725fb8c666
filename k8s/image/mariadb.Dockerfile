# The local overlay's throwaway MariaDB, for machines that reach Debian's packages but no image
# registry (scripts/deploy-test): Debian 12's MariaDB 10.11, as the mariadb:10.11 image the overlay
# names. Like that image it runs as user 999 and, on its first start with an empty data directory,
# creates the database and the application user named by MARIADB_DATABASE, MARIADB_USER and
# MARIADB_PASSWORD (mariadb-entrypoint.sh). Arguments are passed to mariadbd.
#
#   podman build -f k8s/image/mariadb.Dockerfile -t localhost/mariadb:10.11 k8s/image
FROM debian:bookworm-slim
# The user first, so that the package's scripts take it (999) rather than making their own.
RUN groupadd --system --gid 999 mysql \
 && useradd --system --uid 999 --gid mysql --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin mysql \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql \
 && mkdir -p /var/lib/mysql /run/mysqld \
 && chown mysql:mysql /var/lib/mysql /run/mysqld
# As the mariadb image: clients are known by address, not by a reverse lookup of it (which would
# make 127.0.0.1 "localhost" and match accounts for socket logins).
RUN printf '[mariadb]\nskip-name-resolve\nhost-cache-size=0\n' \
      >/etc/mysql/mariadb.conf.d/90-container.cnf
COPY mariadb-entrypoint.sh /usr/local/bin/mariadb-entrypoint.sh
USER 999:999
ENTRYPOINT ["/usr/local/bin/mariadb-entrypoint.sh"]
CMD ["mariadbd"]
