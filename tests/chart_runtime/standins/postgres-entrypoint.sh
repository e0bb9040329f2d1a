#!/bin/sh
# The official postgres image's contract, in short: initialise PGDATA on first start with POSTGRES_USER
# as superuser (password POSTGRES_PASSWORD, scram over TCP) and POSTGRES_DB, then run the server.
set -eu
user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
  # UTF8 as in the official image (a bare initdb here would pick SQL_ASCII, and psycopg returns bytes then).
  initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /var/run/postgresql" -w start
  db=${POSTGRES_DB:-$user}
  if [ "$db" != postgres ]; then psql -h /var/run/postgresql -U "$user" -d postgres -c "CREATE DATABASE \"$db\""; fi
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@" -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql
