#!/bin/sh
# The first start makes the cluster with POSTGRES_USER / POSTGRES_PASSWORD and creates
# POSTGRES_DB, as the official image does; every start then runs postgres as the postgres user.
set -eu
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  if [ "$db" != "$user" ]; then
    runuser -u postgres -- createdb -U "$user" "$db"
  fi
  runuser -u postgres -- pg_ctl -D "$PGDATA" -w stop >/dev/null
fi
if [ "$1" = "postgres" ]; then
  shift
  exec runuser -u postgres -- postgres -D "$PGDATA" "$@"
fi
exec "$@"
